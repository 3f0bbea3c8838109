import { api } from './api';
import { ApiError } from './problem';
import type { Todo } from './types';

// Every write of a todo names the version this page shows, as If-Match, so
// a change made elsewhere (another tab, another device) is never silently
// overwritten: the server answers 412 instead. A todo's ETag is its
// updated_at, quoted (docs/api.md), so a todo from a list page has one too.

export const ifMatch = (todo: Todo) => ({ 'If-Match': `"${todo.updated_at}"` });

/** The server refused a write because the todo changed since this page read it. */
export const changedElsewhere = (error: unknown): error is ApiError => error instanceof ApiError && error.status === 412;

/** The todo as the server has it now; undefined when it is gone. */
export async function currentVersion(todo: Todo): Promise<Todo | undefined> {
  try {
    return await api<Todo>('GET', `/api/todos/${encodeURIComponent(todo.id)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

export const CHANGED_ELSEWHERE = 'was changed elsewhere (in another tab or on another device) since this page showed it';
