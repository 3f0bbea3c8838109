import { api } from './api';
import { h, hidden, timeOf } from './dom';
import { clearErrors, showFormError } from './form-errors';
import { oneAtATime, onSubmit } from './form-submit';
import { announce, showNotice } from './notice';
import { ApiError } from './problem';
import { report } from './report';
import { deleteWithUndo } from './todo-delete';
import { short } from './todo-text';
import { CHANGED_ELSEWHERE, changedElsewhere, currentVersion, ifMatch } from './todo-version';
import type { Todo } from './types';

export type ItemHooks = {
  /** The todo changed on the server; the list decides whether it still belongs. */
  changed(li: HTMLLIElement, todo: Todo): void;
  /** The todo no longer exists; extra is its undo row, if any. */
  gone: (li: HTMLLIElement, extra?: HTMLLIElement) => void;
};

const VANISHED = 'This todo no longer exists; it may have been deleted in another tab.';

/** One todo: finish it with the checkbox, edit its text in place, delete it with undo. */
export function todoItem(initial: Todo, hooks: ItemHooks): HTMLLIElement {
  let todo = initial;
  let version = 0;
  const path = `/api/todos/${encodeURIComponent(todo.id)}`;
  const li = h('li', { className: 'todo' });
  li.dataset.id = todo.id;

  const check = h('input', { type: 'checkbox', id: `done-${todo.id}`, className: 'check' });
  const checkLabel = h('label', { htmlFor: check.id, className: 'visually-hidden' });
  const text = h('span', { className: 'text' });
  const meta = h('span', { className: 'meta' });
  const edit = h('button', { type: 'button', className: 'btn small edit' });
  const del = h('button', { type: 'button', className: 'btn small danger delete' });
  const view = [check, checkLabel, h('div', { className: 'body' }, text, meta), h('div', { className: 'row-actions' }, edit, del)];

  // Updates the same elements in place, so keyboard focus stays where it was.
  const show = () => {
    check.checked = todo.is_finished;
    li.classList.toggle('done', todo.is_finished);
    checkLabel.textContent = `“${short(todo.content)}” finished`;
    text.textContent = todo.content;
    meta.replaceChildren(todo.finished_at ? timeOf(todo.finished_at, 'Finished') : timeOf(todo.created_at, 'Added'));
    edit.replaceChildren('Edit', hidden(` “${short(todo.content)}”`));
    del.replaceChildren('Delete', hidden(` “${short(todo.content)}”`));
  };

  const vanished = () => {
    hooks.gone(li);
    showNotice(VANISHED);
  };

  // The server kept a version this page has not seen (412): show that one,
  // and say that this page's change was not made.
  const kept = async (notDone: string) => {
    const shown = todo;
    try {
      const current = await currentVersion(todo);
      if (!current) return vanished();
      todo = current;
      show();
      hooks.changed(li, todo);
      showNotice(`“${short(shown.content)}” ${CHANGED_ELSEWHERE}, so it ${notDone}. It now shows the current version.`);
    } catch (error) {
      report(error, { retry: () => void kept(notDone) });
    }
  };

  const setFinished = async (want: boolean) => {
    const mine = ++version;
    li.classList.toggle('done', want);
    li.classList.remove('rolled-back');
    li.setAttribute('aria-busy', 'true');
    try {
      const saved = await api<Todo>('PATCH', path, { body: { is_finished: want }, headers: ifMatch(todo) });
      if (mine !== version) return;
      todo = saved;
      show();
      announce(want ? `Finished “${short(todo.content)}”.` : `Reopened “${short(todo.content)}”.`);
      hooks.changed(li, todo);
    } catch (error) {
      if (mine !== version) return;
      // The optimistic change is undone where the user can see it.
      show();
      li.classList.add('rolled-back');
      if (error instanceof ApiError && error.status === 404) return vanished();
      if (changedElsewhere(error)) return void kept(want ? 'was not finished' : 'was not reopened');
      report(error, {
        retry: () => void setFinished(want),
        failed: `“${short(todo.content)}” was not ${want ? 'finished' : 'reopened'}.`,
      });
    } finally {
      if (mine === version) li.removeAttribute('aria-busy');
    }
  };

  const startEdit = () => {
    const input = h('input', { id: `edit-${todo.id}`, name: 'content', value: todo.content, autocomplete: 'off' });
    const save = h('button', { type: 'submit', className: 'btn small primary' }, 'Save');
    const cancel = h('button', { type: 'button', className: 'btn small' }, 'Cancel');
    const form = h(
      'form',
      { className: 'edit', noValidate: true },
      h('div', { className: 'field' }, h('label', { htmlFor: input.id, className: 'visually-hidden' }, 'Todo text'), input),
      h('div', { className: 'actions' }, save, cancel),
    );
    // Set when the todo changed elsewhere while it was being edited.
    let refreshed = false;
    const close = () => {
      li.replaceChildren(...view);
      show();
      edit.focus();
      if (refreshed) hooks.changed(li, todo);
    };
    const run = oneAtATime(form, (error, retry) => {
      if (error instanceof ApiError && error.status === 404) return vanished();
      report(error, { form, retry, failed: 'The change was not saved.' });
    });
    onSubmit(form, () => {
      if (input.value.trim() === todo.content) return close();
      void run(async () => {
        try {
          todo = await api<Todo>('PATCH', path, { body: { content: input.value }, headers: ifMatch(todo) });
        } catch (error) {
          if (!changedElsewhere(error)) throw error;
          // The typed text stays; saving again names the version shown now.
          const current = await currentVersion(todo);
          if (!current) return vanished();
          todo = current;
          refreshed = true;
          clearErrors(form);
          const state = current.is_finished ? ' (finished)' : '';
          showFormError(
            form,
            `Not saved: this todo ${CHANGED_ELSEWHERE}. It now reads “${current.content}”${state}. Save again to replace that with your text, or Cancel to keep it.`,
          );
          input.focus();
          return;
        }
        refreshed = false;
        close();
        announce('Saved.');
        hooks.changed(li, todo);
      });
    });
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') close();
    });
    cancel.addEventListener('click', close);
    li.replaceChildren(form);
    input.focus();
    input.select();
  };

  check.addEventListener('change', () => void setFinished(check.checked));
  edit.addEventListener('click', startEdit);
  del.addEventListener('click', () => deleteWithUndo(li, todo, { gone: hooks.gone, kept: () => void kept('was not deleted') }));
  li.append(...view);
  show();
  return li;
}
