import type { z } from 'zod';
import type { Deps } from '../deps';
import { isUniqueViolation, transaction } from '../db';
import { conflict, limitReached, notFound, unauthorized, unavailable } from '../errors';
import { authCacheKey } from './auth';
import { publicPaths } from '../public-pages/paths';
import { hashPassword, verifyPassword } from './passwords';
import { pageOf } from '../todos/cursor';
import * as queries from './queries';
import type { newToken, TokenListQuery, tokenPage, user } from './schema';
import { digest, newSecret, TOKEN_PREFIX } from './secrets';

export type PublicUser = z.output<typeof user>;
export type NewSession = { sid: string; csrfToken: string };

export const publicUser = (u: queries.UserRow): PublicUser => ({
  id: u.id,
  email: u.email,
  public_slug: u.public_slug,
  created_at: u.created_at,
});

async function startSession(deps: Deps, userId: string): Promise<NewSession> {
  const sid = newSecret();
  const csrfToken = newSecret();
  await queries.insertSession(deps.db, digest(sid), userId, csrfToken, deps.config.sessionTtlDays);
  return { sid, csrfToken };
}

export async function signUp(deps: Deps, email: string, password: string) {
  const hash = await hashPassword(password, deps.config.scrypt);
  try {
    const user = await queries.insertUser(deps.db, email, hash);
    return { user: publicUser(user), session: await startSession(deps, user.id) };
  } catch (err) {
    if (isUniqueViolation(err, 'users_email_lower_key')) {
      throw conflict('email-taken', 'An account with this e-mail address already exists.', [
        { field: 'email', message: 'is already registered', expected: 'an e-mail address not yet registered' },
      ]);
    }
    throw err;
  }
}

// Verifying against this when the e-mail is unknown keeps the response time
// the same, so timing does not reveal which addresses have accounts.
let decoyHash: Promise<string> | undefined;

export async function logIn(deps: Deps, email: string, password: string) {
  const user = await queries.findUserByEmail(deps.db, email);
  decoyHash ??= hashPassword('decoy password', deps.config.scrypt);
  const valid = await verifyPassword(password, user?.password_hash ?? (await decoyHash));
  if (!user || !valid) throw unauthorized('The e-mail address or the password is wrong.');
  return { user: publicUser(user), session: await startSession(deps, user.id) };
}

/** Ends the session in PostgreSQL and in the credential cache before answering. */
export async function logOut(deps: Deps, sessionHash: Buffer): Promise<void> {
  await queries.deleteSession(deps.db, sessionHash);
  await deps.cache.invalidate(authCacheKey(sessionHash));
}

export async function getUser(deps: Deps, userId: string): Promise<PublicUser> {
  const user = await queries.findUserById(deps.db, userId);
  if (!user) throw unauthorized('This account no longer exists.');
  return publicUser(user);
}

export async function createToken(deps: Deps, userId: string, name: string): Promise<z.output<typeof newToken>> {
  const limit = deps.config.perUser.tokens;
  const token = newSecret(TOKEN_PREFIX);
  // Counted under the user's row lock: two creates for the last place take turns.
  const row = await transaction(deps.db, async (client) => {
    if (!(await queries.lockUser(client, userId))) throw unauthorized('This account no longer exists.');
    if ((await queries.countTokens(client, userId)) >= limit) {
      throw limitReached(
        'token-limit-reached',
        `This account already has ${limit} API tokens, the most it may have. Revoke one it no longer needs (DELETE /api/tokens/{id}), then create this one again.`,
      );
    }
    return queries.insertToken(client, userId, name, digest(token));
  });
  return { id: row.id, name: row.name, token, created_at: row.created_at };
}

export async function listTokens(deps: Deps, userId: string, q: TokenListQuery): Promise<z.output<typeof tokenPage>> {
  return pageOf(await queries.listTokens(deps.db, userId, q.limit + 1, q.cursor), q.limit);
}

export async function revokeToken(deps: Deps, userId: string, tokenId: string): Promise<void> {
  // A revocation answered 204 must hold on every worker at once: if the
  // credential cache cannot be cleared, nothing is revoked (503, retry).
  const hash = await transaction(deps.db, async (client) => {
    const deleted = await queries.deleteToken(client, userId, tokenId);
    if (!deleted) throw notFound('There is no such token.');
    if (!(await deps.cache.invalidate(authCacheKey(deleted))))
      throw unavailable('The token cannot be revoked everywhere right now; try again shortly.');
    return deleted;
  });
  // Again after the commit: a lookup between the first clear and the commit may have cached it.
  await deps.cache.invalidate(authCacheKey(hash));
  // nginx's copies of the user's first pages, the token's among them (named
  // too, since it is no longer in PostgreSQL should Redis be away).
  await deps.edge.purgeCopies(userId, () => queries.tokenDigests(deps.db, userId), hash);
}

export async function setPublicSlug(deps: Deps, userId: string, slug: string | null): Promise<PublicUser> {
  try {
    const user = await queries.updatePublicSlug(deps.db, userId, slug);
    const slugs = [user.old_slug, user.public_slug].filter((s) => s !== null);
    await deps.edge.purgePublic(slugs.flatMap(publicPaths));
    return publicUser(user);
  } catch (err) {
    if (isUniqueViolation(err, 'users_public_slug_key')) {
      throw conflict('slug-taken', 'This public slug is already in use.', [
        { field: 'public_slug', message: 'is already taken', expected: 'a slug no other user has' },
      ]);
    }
    throw err;
  }
}
