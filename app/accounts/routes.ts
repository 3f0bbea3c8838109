import { Router, type CookieOptions, type Request, type Response } from 'express';
import type { Deps } from '../deps';
import { unauthorized } from '../errors';
import { formValues, parseInput, pathId } from '../input';
import { requireUser, secureCookie, sessionCookieOf, userIdOf } from './auth';
import type { z } from 'zod';
import { logInBody, meBody, signUpBody, tokenBody, tokenListQuery, type meAnswer, type sessionAnswer } from './schema';
import * as service from './service';

// What each answer is, as the API description (app/accounts/openapi.ts) says.
type SessionAnswer = z.output<typeof sessionAnswer>;
type MeAnswer = z.output<typeof meAnswer>;

export function accountsRouter(deps: Deps): Router {
  const router = Router();
  const maxAge = deps.config.sessionTtlDays * 24 * 3600 * 1000;

  // The same attributes to set and to clear the cookie, or browsers keep it.
  const cookieOptions = (req: Request): CookieOptions => ({
    httpOnly: true,
    sameSite: 'lax',
    secure: secureCookie(deps, req),
    path: '/',
  });
  const setSessionCookie = (req: Request, res: Response, sid: string) => {
    res.cookie(sessionCookieOf(deps, req), sid, { ...cookieOptions(req), maxAge });
  };

  const noStore = (res: Response) => res.set('Cache-Control', 'no-store');

  // Only from this site's pages: app.ts checks before the limits count (sameOriginOnly).
  router.post('/users', async (req, res) => {
    const { email, password } = parseInput(signUpBody, req.body ?? {}, 'body');
    const { user, session } = await service.signUp(deps, email, password);
    // As with log-in: this browser's earlier session, if any, ends.
    if (req.auth?.kind === 'session') await service.logOut(deps, req.auth.sessionHash);
    setSessionCookie(req, res, session.sid);
    noStore(res)
      .status(201)
      .location('/api/me')
      .json({ user, csrf_token: session.csrfToken } satisfies SessionAnswer);
  });

  router.post('/session', async (req, res) => {
    const { email, password } = parseInput(logInBody, req.body ?? {}, 'body');
    const { user, session } = await service.logIn(deps, email, password);
    // A new session per log-in; the one this browser had before (if any) ends.
    if (req.auth?.kind === 'session') await service.logOut(deps, req.auth.sessionHash);
    setSessionCookie(req, res, session.sid);
    noStore(res)
      .status(201)
      .json({ user, csrf_token: session.csrfToken } satisfies SessionAnswer);
  });

  router.get('/session', async (req, res) => {
    const auth = req.auth;
    if (auth?.kind !== 'session') throw unauthorized('There is no session; log in first.');
    noStore(res).json({ user: await service.getUser(deps, auth.userId), csrf_token: auth.csrfToken } satisfies SessionAnswer);
  });

  router.delete('/session', requireUser, async (req, res) => {
    const auth = req.auth;
    if (auth?.kind !== 'session') throw unauthorized('There is no session to end; API tokens are revoked at /api/tokens.');
    await service.logOut(deps, auth.sessionHash);
    res.clearCookie(sessionCookieOf(deps, req), cookieOptions(req));
    res.status(204).end();
  });

  router.post('/tokens', requireUser, async (req, res) => {
    const { name } = parseInput(tokenBody, req.body ?? {}, 'body');
    const token = await service.createToken(deps, userIdOf(req), name);
    noStore(res).status(201).location(`/api/tokens/${token.id}`).json(token);
  });

  router.get('/tokens', requireUser, async (req, res) => {
    const query = parseInput(tokenListQuery, req.query, 'query');
    noStore(res).json(await service.listTokens(deps, userIdOf(req), query));
  });

  router.delete('/tokens/:id', requireUser, async (req, res) => {
    await service.revokeToken(deps, userIdOf(req), pathId(req.params.id, 'There is no such token.'));
    res.status(204).end();
  });

  router.get('/me', requireUser, async (req, res) => {
    noStore(res).json({ user: await service.getUser(deps, userIdOf(req)) } satisfies MeAnswer);
  });

  router.patch('/me', requireUser, async (req, res) => {
    const { public_slug } = parseInput(meBody, formValues(req, req.body ?? {}, { nullables: ['public_slug'] }), 'body');
    noStore(res).json({ user: await service.setPublicSlug(deps, userIdOf(req), public_slug) } satisfies MeAnswer);
  });

  return router;
}
