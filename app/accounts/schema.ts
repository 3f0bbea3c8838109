import { z } from 'zod';
import { codePoints, text } from '../input';
import { cursorParam, wholeNumber } from '../todos/schema';

const email = z.string().trim().max(254).pipe(z.email()).describe('an e-mail address, at most 254 characters');

// At least 12 characters (OWASP ASVS 4.0 2.1.1), counted in code points.
const newPassword = text()
  .refine((s) => codePoints(s) >= 12 && codePoints(s) <= 200, 'must be 12 to 200 characters long')
  .describe('a string of 12 to 200 characters');

// A log-in is judged by the hash alone: accounts made under the earlier
// 8-character minimum keep their passwords.
const currentPassword = text()
  .refine((s) => codePoints(s) >= 1 && codePoints(s) <= 200, 'must be 1 to 200 characters long')
  .describe("the account's password, at most 200 characters");

export const signUpBody = z.strictObject({ email, password: newPassword });
export const logInBody = z.strictObject({ email, password: currentPassword });

export const tokenBody = z.strictObject({
  name: text()
    .trim()
    .refine((s) => codePoints(s) >= 1 && codePoints(s) <= 100, 'must be 1 to 100 characters long')
    .describe('a name of 1 to 100 characters, to recognise the token by'),
});

/** GET /api/tokens: keyset pages, oldest token first. */
export const TOKEN_PAGE = { default: 20, max: 100 } as const;

export const tokenListQuery = z.object({
  limit: wholeNumber(1, TOKEN_PAGE.max, 'page size').default(TOKEN_PAGE.default),
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
