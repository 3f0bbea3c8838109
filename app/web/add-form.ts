import { api } from './api';
import { h, randomKey } from './dom';
import { clearErrors } from './form-errors';
import { announce } from './notice';
import { report } from './report';
import { short } from './todo-text';
import type { Todo } from './types';

/** The "New todo" field. Not optimistic: the todo shows once the server has it, with its id. */
export function addForm(onAdded: (todo: Todo) => void): HTMLFormElement {
  const input = h('input', { id: 'new-todo', name: 'content', autocomplete: 'off' });
  const form = h('form', { className: 'card add', noValidate: true },
    h('div', { className: 'field' },
      h('label', { htmlFor: input.id }, 'New todo'),
      h('div', { className: 'inline' }, input, h('button', { type: 'submit', className: 'btn primary' }, 'Add'))));

  // A retry after a lost answer reuses the key, so the server creates the
  // todo once even if the first attempt did arrive.
  let key: string | null = null;
  let keyFor = '';
  let busy = false;

  const send = async (content: string, idempotencyKey: string) => {
    if (busy) return;
    busy = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const todo = await api<Todo>('POST', '/api/todos', { body: { content }, headers: { 'Idempotency-Key': idempotencyKey } });
      key = null;
      if (input.value === content) input.value = '';
      onAdded(todo);
      announce(`Added “${short(todo.content)}”.`);
    } catch (error) {
      report(error, { form, retry: () => void send(content, idempotencyKey), failed: 'The todo was not added.' });
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const content = input.value;
    if (key === null || content !== keyFor) {
      key = randomKey();
      keyFor = content;
    }
    void send(content, key);
  });
  return form;
}
