import { z } from 'zod';
import { codePoints, text } from '../input';
import { cursorParam, nextCursor, pageSize } from '../todos/schema';

const email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .describe('an e-mail address, at most 254 characters')
  .meta({ format: 'email', example: 'ada@example.com' });

// At least 12 characters (OWASP ASVS 4.0 2.1.1), counted in code points.
const newPassword = text()
  .refine((s) => codePoints(s) >= 12 && codePoints(s) <= 200, 'must be 12 to 200 characters long')
  .describe('a string of 12 to 200 characters')
  .meta({ minLength: 12, maxLength: 200, example: 'correct horse battery staple' });

// A log-in is judged by the hash alone: accounts made under the earlier
// 8-character minimum keep their passwords.
const currentPassword = text()
  .refine((s) => codePoints(s) >= 1 && codePoints(s) <= 200, 'must be 1 to 200 characters long')
  .describe("the account's password, at most 200 characters")
  .meta({ minLength: 1, maxLength: 200, example: 'correct horse battery staple' });

export const signUpBody = z.strictObject({ email, password: newPassword });
export const logInBody = z.strictObject({ email, password: currentPassword });

export const tokenBody = z.strictObject({
  name: text()
    .trim()
    .refine((s) => codePoints(s) >= 1 && codePoints(s) <= 100, 'must be 1 to 100 characters long')
    .describe('a name of 1 to 100 characters, to recognise the token by')
    .meta({ minLength: 1, maxLength: 100, example: 'laptop sync' }),
});

/** GET /api/tokens: keyset pages, oldest token first. */
export const TOKEN_PAGE = { default: 20, max: 100 } as const;

export const tokenListQuery = z.object({
  limit: pageSize(TOKEN_PAGE.max, TOKEN_PAGE.default),
  cursor: cursorParam,
});

export type TokenListQuery = z.output<typeof tokenListQuery>;

export const SLUG = /^[a-z0-9-]{3,40}$/;

export const meBody = z.strictObject({
  public_slug: z
    .string()
    .regex(SLUG, 'must be 3 to 40 of a-z, 0-9 and -')
    .nullable()
    .describe('3 to 40 characters of a-z, 0-9 and -, or null to unpublish'),
});

// --- What the API answers (described in app/accounts/openapi.ts) -------------

const time = (description: string) =>
  z.date().meta({ description: `${description}: ISO 8601, UTC, milliseconds`, example: '2026-01-02T03:04:05.678Z' });
const id = z.uuid().meta({ example: '0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e' });

export const user = z
  .object({
    id,
    email: z.string().meta({ example: 'ada@example.com' }),
    public_slug: z.string().nullable().meta({ description: 'where the list is published (/u/{slug}), or null', example: 'ada-lists' }),
    created_at: time('when the account was made'),
  })
  .meta({ id: 'User' });

/** Sign-up, log-in and GET /api/session. */
export const sessionAnswer = z
  .object({
    user,
    csrf_token: z.string().meta({ description: 'Send it as X-CSRF-Token with every unsafe request that uses the session cookie.' }),
  })
  .meta({ id: 'Session' });

export const meAnswer = z.object({ user }).meta({ id: 'Me' });

export const newToken = z
  .object({
    id,
    name: z.string(),
    token: z.string().meta({ description: 'The secret: shown here only, never again. Send it as `Authorization: Bearer <token>`.' }),
    created_at: time('when it was made'),
  })
  .meta({ id: 'NewToken' });

export const tokenInfo = z
  .object({
    id,
    name: z.string(),
    created_at: time('when it was made'),
    last_used_at: time('when it was last used (to the minute)').nullable(),
  })
  .meta({ id: 'Token' });

export const tokenPage = z.object({ data: z.array(tokenInfo), next_cursor: nextCursor }).meta({ id: 'TokenPage' });
