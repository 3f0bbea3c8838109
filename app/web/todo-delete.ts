import { api } from './api';
import { h, hidden } from './dom';
import { announce } from './notice';
import { ApiError } from './problem';
import { report } from './report';
import { short } from './todo-text';
import { changedElsewhere, ifMatch } from './todo-version';
import type { Todo } from './types';

// Delete offers Undo instead of asking "are you sure?" first. A confirmation
// on every delete trains people to confirm without reading and costs an extra
// step each time; undo keeps deleting one keystroke away and still rescues
// the rare mistake. The API has no restore, so the DELETE is held back for a
// few seconds and only then sent; the row stays in place, hidden, until then.
// "Clear finished" works the same way for all the finished todos at once.
const UNDO_MS = 6000;

// Held-back deletes survive a reload or a closed tab: they are sent with
// keepalive when the page goes away, and recorded here so the next load
// finishes them before it lists the todos. A delete names the version the
// page showed (If-Match): a todo changed elsewhere meanwhile is kept.
const STORE = 'todo-stack.pending-deletes';
const CLEAR = 'finished';

type Held = { id: string; etag?: string | undefined };

const pending = new Map<string, (keepalive: boolean) => Promise<void>>();

function stored(): Held[] {
  try {
    const held: unknown = JSON.parse(sessionStorage.getItem(STORE) ?? '[]');
    if (!Array.isArray(held)) return [];
    return held.flatMap((e: unknown): Held[] => {
      if (typeof e === 'string') return [{ id: e }];
      const { id, etag } = (e ?? {}) as { id?: unknown; etag?: unknown };
      return typeof id === 'string' ? [{ id, ...(typeof etag === 'string' && { etag }) }] : [];
    });
  } catch {
    return [];
  }
}

function store(held: Held[]): void {
  try {
    if (held.length) sessionStorage.setItem(STORE, JSON.stringify(held));
    else sessionStorage.removeItem(STORE);
  } catch {
    // Storage may be disabled; the keepalive request still carries the delete.
  }
}

const remember = (entry: Held) => store([...stored().filter((other) => other.id !== entry.id), entry]);
const forget = (id: string) => store(stored().filter((other) => other.id !== id));

async function send({ id, etag }: Held, keepalive: boolean): Promise<unknown> {
  try {
    const answer =
      id === CLEAR
        ? await api('DELETE', '/api/todos?is_finished=true', { keepalive })
        : await api('DELETE', `/api/todos/${encodeURIComponent(id)}`, { keepalive, ...(etag && { headers: { 'If-Match': etag } }) });
    forget(id);
    return answer;
  } catch (error) {
    // Already gone (deleted in another tab) is the outcome the user wanted;
    // changed elsewhere (412) is kept on purpose. Anything else is tried
    // again on the next load.
    if (error instanceof ApiError && (error.status === 404 || error.status === 412)) forget(id);
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    return undefined;
  }
}

export type DeleteHooks = {
  /** The todo is deleted on the server: drop both rows. */
  gone(li: HTMLLIElement, undoRow: HTMLLIElement): void;
  /** The todo changed elsewhere, so it was kept: show it as it is now. */
  kept(): void;
};

type Hold = {
  rows: HTMLLIElement[];
  /** Puts the undo row in the list. */
  place: (row: HTMLLIElement) => void;
  /** What the undo row says, and what Undo undoes (for screen readers). */
  text: string;
  what: string;
  /** Said when Undo is used. */
  undone: string;
  /** Sends the held-back request; `restore` shows the rows again. */
  commit: (keepalive: boolean, restore: () => void, row: HTMLLIElement) => Promise<void>;
};

/** Hides the rows behind an undo row for a few seconds, then commits; Undo shows them again. */
function holdBack(key: Held, { rows, place, text, what, undone, commit }: Hold): void {
  remember(key);
  for (const li of rows) li.hidden = true;
  const undo = h('button', { type: 'button', className: 'btn small' }, 'Undo', hidden(` ${what}`));
  const row = h('li', { className: 'undo-row' }, h('span', { className: 'undo-text' }, text), undo);
  place(row);
  undo.focus();

  let settled = false;
  const restore = () => {
    row.remove();
    for (const li of rows) li.hidden = false;
  };
  const settle = () => {
    if (settled) return false;
    settled = true;
    clearTimeout(timer);
    pending.delete(key.id);
    return true;
  };
  const run = async (keepalive: boolean) => {
    if (settle()) await commit(keepalive, restore, row);
  };
  const timer = setTimeout(() => void run(false), UNDO_MS);
  pending.set(key.id, run);

  undo.addEventListener('click', () => {
    if (!settle()) return;
    forget(key.id);
    restore();
    rows[0]?.querySelector<HTMLButtonElement>('.delete')?.focus();
    announce(undone);
  });
}

export function deleteWithUndo(li: HTMLLIElement, todo: Todo, hooks: DeleteHooks): void {
  const held = { id: todo.id, etag: ifMatch(todo)['If-Match'] };
  holdBack(held, {
    rows: [li],
    place: (row) => li.after(row),
    text: `Deleted “${todo.content}”.`,
    what: `deleting “${short(todo.content)}”`,
    undone: `Restored “${short(todo.content)}”.`,
    commit: async (keepalive, restore, row) => {
      try {
        await send(held, keepalive);
        hooks.gone(li, row);
        announce(`Deleted “${short(todo.content)}”.`);
      } catch (error) {
        restore();
        li.classList.add('rolled-back');
        if (changedElsewhere(error)) return hooks.kept();
        report(error, { retry: () => deleteWithUndo(li, todo, hooks), failed: `“${short(todo.content)}” was not deleted.` });
      }
    },
  });
}

/**
 * Clear finished: every finished todo of the user, on the server, with the
 * same undo time as a delete; the finished rows shown here are hidden
 * meanwhile. `cleared` gets how many went (the list reads itself again).
 */
export function clearFinishedWithUndo(list: HTMLUListElement, cleared: (deleted: number) => void): void {
  if (pending.has(CLEAR)) return;
  const rows = [...list.querySelectorAll<HTMLLIElement>('li.todo.done:not([hidden])')];
  holdBack(
    { id: CLEAR },
    {
      rows,
      place: (row) => list.prepend(row),
      text: 'Cleared the finished todos.',
      what: 'clearing the finished todos',
      undone: 'The finished todos are back.',
      commit: async (keepalive, restore, row) => {
        try {
          const { deleted } = (await send({ id: CLEAR }, keepalive)) as { deleted: number };
          row.remove();
          for (const li of rows) li.remove();
          cleared(deleted);
        } catch (error) {
          restore();
          report(error, { retry: () => clearFinishedWithUndo(list, cleared), failed: 'The finished todos were not cleared.' });
        }
      },
    },
  );
}

/** Sends every held-back delete now: before a reload of the list, a log-out, or page exit. */
export function commitPendingDeletes(keepalive = false): Promise<void> {
  return Promise.all([...pending.values()].map((commit) => commit(keepalive))).then(() => undefined);
}

/** Finishes deletes an earlier page of this tab held back but may not have sent. */
export async function flushStoredDeletes(): Promise<void> {
  await Promise.all(stored().map((held) => send(held, false).catch(() => undefined)));
}
