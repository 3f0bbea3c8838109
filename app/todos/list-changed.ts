import { publicSlugOf, tokenDigests } from '../accounts/queries';
import type { Deps } from '../deps';
import { publicPaths } from '../public-pages/paths';

/** The app cache namespace of a user's lists (first pages, per limit and filter). */
export const listNamespace = (userId: string) => `todos:${userId}`;

/**
 * A user's list changed: every writer calls this after its change is
 * committed and before it answers (HTTP routes, jobs, batches), so the
 * next read anywhere sees the change. `ownerSlug`: the owner's public slug
 * when the writer already has it; else it is looked up.
 *
 * The order matters. The app cache goes first: replacing the list's
 * version makes every cached page dead and refuses any rebuild or nginx
 * admission that read the old one, so no new copy of the old list can
 * appear after this point. Then nginx's copies for the user's tokens are
 * purged (app/edge.ts waits out admissions still in flight). The public
 * pages do not depend on that version and are purged alongside.
 */
export async function listChanged(deps: Deps, userId: string, ownerSlug?: string | null): Promise<void> {
  const slug = ownerSlug === undefined ? await publicSlugOf(deps.db, userId) : ownerSlug;
  await Promise.all([
    deps.cache.invalidate(listNamespace(userId)).then(() => deps.edge.purgeCopies(userId, () => tokenDigests(deps.db, userId))),
    deps.edge.purgePublic(slug ? publicPaths(slug) : []),
  ]);
}
