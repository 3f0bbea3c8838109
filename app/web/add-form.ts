import { api } from './api';
import { h, randomKey } from './dom';
import { oneAtATime, onSubmit } from './form-submit';
import { announce } from './notice';
import { report } from './report';
import { short } from './todo-text';
import type { Todo } from './types';

/** The "New todo" field. Not optimistic: the todo shows once the server has it, with its id. */
export function addForm(onAdded: (todo: Todo) => void): HTMLFormElement {
  const input = h('input', { id: 'new-todo', name: 'content', autocomplete: 'off' });
  const form = h(
    'form',
    { className: 'card add', noValidate: true },
    h(
      'div',
      { className: 'field' },
      h('label', { htmlFor: input.id }, 'New todo'),
      h('div', { className: 'inline' }, input, h('button', { type: 'submit', className: 'btn primary' }, 'Add')),
    ),
  );

  // A retry after a lost answer reuses the key, so the server creates the
  // todo once even if the first attempt did arrive.
  let key: string | null = null;
  let keyFor = '';

  const run = oneAtATime(form, (error, retry) => report(error, { form, retry, failed: 'The todo was not added.' }));
  const send = (content: string, idempotencyKey: string) =>
    run(async () => {
      const todo = await api<Todo>('POST', '/api/todos', { body: { content }, headers: { 'Idempotency-Key': idempotencyKey } });
      key = null;
      if (input.value === content) input.value = '';
      onAdded(todo);
      announce(`Added “${short(todo.content)}”.`);
    });

  onSubmit(form, () => {
    const content = input.value;
    if (key === null || content !== keyFor) {
      key = randomKey();
      keyFor = content;
    }
    void send(content, key);
  });
  return form;
}
