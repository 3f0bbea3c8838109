import type { IfMatch } from '../etag';
import type { TodoRow } from './queries';

// A todo's ETag is its updated_at, quoted: "2026-12-02T15:04:57.123Z". Every
// write moves updated_at forward by at least a millisecond (queries.ts,
// updateTodo), so no two versions of a todo share it, and a conditional
// write can compare it inside its own UPDATE or DELETE. It is a strong tag:
// two answers with the same tag are the same bytes. And a client holding a
// list (or the UI) has every todo's tag without fetching each one.

const ISO_MS_UTC = /^"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)"$/;

export const todoEtag = (todo: Pick<TodoRow, 'updated_at'>) => `"${todo.updated_at.toISOString()}"`;

/**
 * The updated_at values an If-Match names, for the write's WHERE clause;
 * undefined when it names none (absent, or "*": any version will do). A tag
 * that is not a todo's ETag matches no version, so it is left out.
 */
export function versionsNamed(ifMatch: IfMatch | undefined): string[] | undefined {
  if (!ifMatch || ifMatch.any) return undefined;
  return ifMatch.tags.flatMap((tag) => {
    const iso = ISO_MS_UTC.exec(tag)?.[1];
    return iso && new Date(iso).toISOString() === iso ? [iso] : [];
  });
}
