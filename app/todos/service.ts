import type { Deps } from '../deps';
import { notFound } from '../errors';
import { encodeCursor } from './cursor';
import { once, requestHash, type StoredResponse } from './idempotency';
import * as queries from './queries';
import type { ListQuery } from './schema';

export type Todo = queries.TodoRow;
export type TodoPage = { data: Todo[]; next_cursor: string | null };

const missing = (): never => {
  throw notFound('There is no such todo.');
};

export async function listTodos(deps: Deps, userId: string, q: ListQuery): Promise<TodoPage> {
  // One row more than asked tells whether a next page exists.
  const rows = await queries.listTodos(deps.db, {
    userId,
    limit: q.limit + 1,
    isFinished: q.is_finished,
    after: q.cursor,
    offset: q.start,
  });
  const data = rows.slice(0, q.limit);
  const last = data.at(-1);
  const next_cursor = rows.length > q.limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null;
  return { data, next_cursor };
}

export async function getTodo(deps: Deps, userId: string, id: string): Promise<Todo> {
  return (await queries.getTodo(deps.db, userId, id)) ?? missing();
}

export async function createTodo(
  deps: Deps,
  userId: string,
  content: string,
  idempotencyKey?: string,
): Promise<StoredResponse & { replayed: boolean }> {
  const create = async (q: Parameters<typeof queries.insertTodo>[0]): Promise<StoredResponse> => {
    const todo = await queries.insertTodo(q, userId, content);
    return { status: 201, body: todo, location: `/api/todos/${todo.id}` };
  };
  if (idempotencyKey === undefined) return { ...(await create(deps.db)), replayed: false };
  return once(deps, userId, idempotencyKey, requestHash('POST', '/api/todos', { content }), create);
}

export async function updateTodo(
  deps: Deps,
  userId: string,
  id: string,
  change: { content?: string | undefined; isFinished?: boolean | undefined },
): Promise<Todo> {
  return (await queries.updateTodo(deps.db, userId, id, change)) ?? missing();
}

export async function deleteTodo(deps: Deps, userId: string, id: string): Promise<void> {
  if (!(await queries.deleteTodo(deps.db, userId, id))) missing();
}
