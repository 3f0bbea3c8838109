import { userIdBySlug } from '../accounts/queries';
import type { Deps } from '../deps';
import { notFound } from '../errors';
import type { Cursor } from '../todos/cursor';
import { listTodos, type TodoPage } from '../todos/service';

export type PublicList = TodoPage & { slug: string };

/** The list a user has published under their slug, newest first. */
export async function publicList(deps: Deps, slug: string, page: { limit: number; cursor?: Cursor | undefined }): Promise<PublicList> {
  const ownerId = await userIdBySlug(deps.db, slug);
  if (!ownerId) throw notFound('No list is published under this name.');
  const list = await listTodos(deps, ownerId, { limit: page.limit, cursor: page.cursor, start: undefined, is_finished: undefined });
  return { slug, ...list };
}
