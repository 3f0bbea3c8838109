import { api } from './api';
import { h, hidden } from './dom';
import { announce } from './notice';
import { ApiError } from './problem';
import { report } from './report';
import { short } from './todo-text';
import type { Todo } from './types';

// Delete offers Undo instead of asking "are you sure?" first. A confirmation
// on every delete trains people to confirm without reading and costs an extra
// step each time; undo keeps deleting one keystroke away and still rescues
// the rare mistake. The API has no restore, so the DELETE is held back for a
// few seconds and only then sent; the row stays in place, hidden, until then.
const UNDO_MS = 6000;

// Held-back deletes survive a reload or a closed tab: they are sent with
// keepalive when the page goes away, and recorded here so the next load
// finishes them before it lists the todos.
const STORE = 'todo-stack.pending-deletes';

const pending = new Map<string, (keepalive: boolean) => Promise<void>>();

function stored(): string[] {
  try {
    const ids: unknown = JSON.parse(sessionStorage.getItem(STORE) ?? '[]');
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

function store(ids: string[]): void {
  try {
    if (ids.length) sessionStorage.setItem(STORE, JSON.stringify(ids));
    else sessionStorage.removeItem(STORE);
  } catch {
    // Storage may be disabled; the keepalive request still carries the delete.
  }
}

const remember = (id: string) => store([...new Set([...stored(), id])]);
const forget = (id: string) => store(stored().filter((other) => other !== id));

async function sendDelete(id: string, keepalive: boolean): Promise<void> {
  try {
    await api('DELETE', `/api/todos/${encodeURIComponent(id)}`, { keepalive });
  } catch (error) {
    // Already gone (deleted in another tab) is the outcome the user wanted.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  forget(id);
}

export type DeleteHooks = {
  /** The todo is deleted on the server: drop both rows. */
  gone(li: HTMLLIElement, undoRow: HTMLLIElement): void;
};

export function deleteWithUndo(li: HTMLLIElement, todo: Todo, hooks: DeleteHooks): void {
  remember(todo.id);
  li.hidden = true;
  const undo = h('button', { type: 'button', className: 'btn small' }, 'Undo', hidden(` deleting “${short(todo.content)}”`));
  const row = h('li', { className: 'undo-row' }, h('span', { className: 'undo-text' }, `Deleted “${todo.content}”.`), undo);
  li.after(row);
  undo.focus();

  let settled = false;
  const restore = () => {
    row.remove();
    li.hidden = false;
  };
  const commit = async (keepalive: boolean) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    pending.delete(todo.id);
    try {
      await sendDelete(todo.id, keepalive);
      hooks.gone(li, row);
      announce(`Deleted “${short(todo.content)}”.`);
    } catch (error) {
      restore();
      li.classList.add('rolled-back');
      report(error, { retry: () => deleteWithUndo(li, todo, hooks), failed: `“${short(todo.content)}” was not deleted.` });
    }
  };
  const timer = setTimeout(() => void commit(false), UNDO_MS);
  pending.set(todo.id, commit);

  undo.addEventListener('click', () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    pending.delete(todo.id);
    forget(todo.id);
    restore();
    li.querySelector<HTMLButtonElement>('.delete')?.focus();
    announce(`Restored “${short(todo.content)}”.`);
  });
}

/** Sends every held-back delete now: before a reload of the list, a log-out, or page exit. */
export function commitPendingDeletes(keepalive = false): Promise<void> {
  return Promise.all([...pending.values()].map((commit) => commit(keepalive))).then(() => undefined);
}

/** Finishes deletes an earlier page of this tab held back but may not have sent. */
export async function flushStoredDeletes(): Promise<void> {
  await Promise.all(stored().map((id) => sendDelete(id, false).catch(() => undefined)));
}
