import { addForm } from './add-form';
import { api } from './api';
import { h } from './dom';
import { importExport } from './import-export';
import { report } from './report';
import { slugForm } from './slug-form';
import { commitPendingDeletes, flushStoredDeletes } from './todo-delete';
import { todoList } from './todo-list';
import type { SessionInfo } from './types';

export type View = { main: HTMLElement[]; account: HTMLElement[]; start(): void };

/** The signed-in page: who is signed in, the add field, the list, the public address. */
export function todosView(session: SessionInfo, onLoggedOut: () => void): View {
  const list = todoList();
  const add = addForm((todo) => list.add(todo));

  const logOut = h('button', { type: 'button', className: 'btn' }, 'Log out');
  let busy = false;
  const leave = async () => {
    if (busy) return;
    busy = true;
    try {
      await commitPendingDeletes();
      await api('DELETE', '/api/session');
      onLoggedOut();
    } catch (error) {
      report(error, { retry: () => void leave(), failed: 'You are still logged in.' });
    } finally {
      busy = false;
    }
  };
  logOut.addEventListener('click', () => void leave());

  return {
    main: [add, list.element, slugForm(session.user), importExport(() => void list.reload())],
    account: [
      h('span', { className: 'who' }, h('span', { className: 'who-label' }, 'Signed in as '), h('strong', {}, session.user.email)),
      logOut,
    ],
    start() {
      add.querySelector('input')?.focus();
      void flushStoredDeletes().then(list.reload);
    },
  };
}
