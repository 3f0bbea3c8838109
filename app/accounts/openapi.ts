// The account routes (app/accounts/routes.ts) in the API description.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { describeRoute, empty, HEADERS, idParam, json } from '../api-description';
import { logInBody, meAnswer, meBody, newToken, sessionAnswer, signUpBody, tokenBody, tokenListQuery, tokenPage } from './schema';

const tags = ['Accounts'];
const jsonOrForm = (schema: z.ZodType) => ({
  content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } },
  required: true,
});
const noStore = { 'Cache-Control': HEADERS.cacheControl };
const sameSite =
  " From a browser, only this site's pages may send it (`Sec-Fetch-Site`, `Origin`); a form must carry `Origin`. API clients send JSON and neither header. Limited per address (and, for failed log-ins, per e-mail): 429 with `Retry-After`.";

export function describeAccounts(registry: OpenAPIRegistry): void {
  describeRoute(registry, {
    method: 'post',
    path: '/api/users',
    operationId: 'signUp',
    tags,
    summary: 'Sign up',
    description: `Makes an account and signs it in: the session cookie and its CSRF token.${sameSite}`,
    access: 'anyone',
    body: true,
    request: { body: jsonOrForm(signUpBody) },
    problems: ['email-taken', 'cross-site'],
    responses: {
      201: json('Signed up and in.', sessionAnswer, { 'Set-Cookie': HEADERS.setCookie, Location: HEADERS.location, ...noStore }),
    },
  });

  describeRoute(registry, {
    method: 'post',
    path: '/api/session',
    operationId: 'logIn',
    tags,
    summary: 'Log in',
    description: `A new session; the one this browser had before, if any, ends.${sameSite}`,
    access: 'anyone',
    body: true,
    request: { body: jsonOrForm(logInBody) },
    problems: ['unauthenticated', 'cross-site'],
    responses: { 201: json('Logged in.', sessionAnswer, { 'Set-Cookie': HEADERS.setCookie, ...noStore }) },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/session',
    operationId: 'getSession',
    tags,
    summary: 'Who is logged in',
    description: "The session's user and CSRF token (a page that reloads finds them here). 401 without a session, also with an API token.",
    access: 'anyone',
    problems: ['unauthenticated'],
    responses: { 200: json('The session.', sessionAnswer, noStore) },
  });

  describeRoute(registry, {
    method: 'delete',
    path: '/api/session',
    operationId: 'logOut',
    tags,
    summary: 'Log out',
    description:
      'Ends this session (only this one) on every worker before answering, and clears the cookie. API tokens are revoked at /api/tokens/{id}.',
    access: 'user',
    responses: { 204: empty('Logged out.', { 'Set-Cookie': { ...HEADERS.setCookie, description: 'Clears the session cookie.' } }) },
  });

  describeRoute(registry, {
    method: 'post',
    path: '/api/tokens',
    operationId: 'createToken',
    tags: ['API tokens'],
    summary: 'Create an API token',
    description: 'The secret is in this answer only; it is stored as a digest. An account has at most 20 tokens.',
    access: 'user',
    body: true,
    request: { body: jsonOrForm(tokenBody) },
    problems: ['token-limit-reached'],
    responses: { 201: json('The new token, with its secret.', newToken, { Location: HEADERS.location, ...noStore }) },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/tokens',
    operationId: 'listTokens',
    tags: ['API tokens'],
    summary: 'List API tokens',
    description: 'Oldest first, without their secrets.',
    access: 'user',
    request: { query: tokenListQuery },
    problems: ['validation-failed'],
    responses: { 200: json('A page of tokens.', tokenPage, noStore) },
  });

  describeRoute(registry, {
    method: 'delete',
    path: '/api/tokens/{id}',
    operationId: 'revokeToken',
    tags: ['API tokens'],
    summary: 'Revoke an API token',
    description:
      "Refused on every worker, and dropped from nginx's copies, before the answer. 503 when that cannot be made sure of: nothing was revoked, retry.",
    access: 'user',
    request: { params: idParam('token') },
    problems: ['not-found'],
    responses: { 204: empty('Revoked.') },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/me',
    operationId: 'getMe',
    tags,
    summary: 'The account',
    access: 'user',
    responses: { 200: json('The user.', meAnswer, noStore) },
  });

  describeRoute(registry, {
    method: 'patch',
    path: '/api/me',
    operationId: 'updateMe',
    tags,
    summary: 'Publish or unpublish the list',
    description:
      'Sets the public slug (the list is then at /u/{slug} and /api/public/{slug}/todos) or clears it with null (a form: an empty value).',
    access: 'user',
    body: true,
    request: { body: jsonOrForm(meBody) },
    problems: ['slug-taken'],
    responses: { 200: json('The user.', meAnswer, noStore) },
  });
}
