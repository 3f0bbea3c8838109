import { api } from './api';
import { h } from './dom';
import { announce } from './notice';
import { report } from './report';
import { clearFinishedWithUndo, commitPendingDeletes } from './todo-delete';
import { todoItem, type ItemHooks } from './todo-item';
import { short } from './todo-text';
import type { Filter, Todo, TodoPage } from './types';

const PAGE_SIZE = 20;

const FILTERS: [Filter, string][] = [
  ['all', 'All'],
  ['open', 'Open'],
  ['finished', 'Finished'],
];

const EMPTY: Record<Filter, string> = {
  all: 'No todos yet. Add one above.',
  open: 'Nothing open. Everything is finished.',
  finished: 'Nothing finished yet.',
};

const matches = (filter: Filter, todo: Todo) => filter === 'all' || (filter === 'finished') === todo.is_finished;

export type TodoList = { element: HTMLElement; reload: () => Promise<void>; add: (todo: Todo) => void };

/** The list, newest first, one keyset page at a time ("Load more"), filtered by state. */
export function todoList(): TodoList {
  let filter: Filter = 'all';
  let cursor: string | null = null;
  // Bumped on every reload, so a slow answer for an old filter is dropped.
  let generation = 0;
  let loadingMore = false;
  const seen = new Set<string>();

  const heading = h('h2', { id: 'list-title', tabIndex: -1 }, 'Your todos');
  const ul = h('ul', { className: 'todos', attrs: { 'aria-labelledby': 'list-title' } });
  const summary = h('p', { className: 'summary' });
  const empty = h('p', { className: 'empty', hidden: true });
  const more = h('button', { type: 'button', className: 'btn wide more', hidden: true }, 'Load more');

  const radios = FILTERS.map(([value, label]) => {
    const input = h('input', { type: 'radio', name: 'filter', id: `filter-${value}`, value, checked: value === filter });
    input.addEventListener('change', () => {
      filter = value;
      void reload();
    });
    return h('span', { className: 'choice' }, input, h('label', { htmlFor: input.id }, label));
  });
  const filters = h('fieldset', { className: 'filter' }, h('legend', {}, 'Show'), ...radios);

  const visibleRows = () => ul.querySelectorAll('li.todo:not([hidden])').length;
  const refresh = () => {
    const count = visibleRows();
    const pendingUndo = ul.querySelector('li.undo-row') !== null;
    empty.hidden = count > 0 || pendingUndo || cursor !== null;
    empty.textContent = EMPTY[filter];
    summary.textContent = count === 0 ? '' : `Showing ${count} ${count === 1 ? 'todo' : 'todos'}${cursor ? '; there are more.' : '.'}`;
    summary.hidden = count === 0;
    more.hidden = cursor === null;
  };

  // When the focused row goes away, focus moves to its neighbour, not to the page's start.
  const removeRow = (li: HTMLLIElement, extra?: HTMLLIElement) => {
    const active = document.activeElement;
    const hadFocus = li.contains(active) || (extra?.contains(active) ?? false);
    let next: Element | null = (extra ?? li).nextElementSibling;
    while (next instanceof HTMLElement && next.hidden) next = next.nextElementSibling;
    next ??= li.previousElementSibling;
    li.remove();
    extra?.remove();
    refresh();
    if (hadFocus) (next?.querySelector<HTMLElement>('input, button') ?? heading).focus();
  };

  const hooks: ItemHooks = {
    changed(li, todo) {
      if (matches(filter, todo)) return;
      removeRow(li);
      announce(`“${short(todo.content)}” moved out of this view; choose All to see it.`);
    },
    gone: removeRow,
  };

  const fetchPage = (after: string | null) => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (after) query.set('cursor', after);
    if (filter !== 'all') query.set('is_finished', String(filter === 'finished'));
    return api<TodoPage>('GET', `/api/todos?${query}`);
  };

  /** Appends a page; a todo already shown (e.g. added here meanwhile) is not shown twice. */
  const append = (page: TodoPage): HTMLLIElement | undefined => {
    let first: HTMLLIElement | undefined;
    for (const todo of page.data) {
      if (seen.has(todo.id)) continue;
      seen.add(todo.id);
      const li = todoItem(todo, hooks);
      first ??= li;
      ul.append(li);
    }
    cursor = page.next_cursor;
    refresh();
    return first;
  };

  const reload = async () => {
    const mine = ++generation;
    // A held-back delete must reach the server before the list is read again.
    await commitPendingDeletes();
    ul.setAttribute('aria-busy', 'true');
    summary.textContent = 'Loading…';
    summary.hidden = false;
    try {
      const page = await fetchPage(null);
      if (mine !== generation) return;
      ul.replaceChildren();
      seen.clear();
      append(page);
    } catch (error) {
      if (mine !== generation) return;
      summary.textContent = 'The list could not be loaded.';
      summary.hidden = false;
      report(error, { retry: () => void reload() });
    } finally {
      if (mine === generation) ul.removeAttribute('aria-busy');
    }
  };

  const loadMore = async () => {
    if (!cursor || loadingMore) return;
    const mine = generation;
    loadingMore = true;
    more.setAttribute('aria-busy', 'true');
    try {
      const page = await fetchPage(cursor);
      if (mine !== generation) return;
      const first = append(page);
      // Keyboard users continue at the first new todo rather than below the list.
      first?.querySelector<HTMLElement>('input')?.focus();
    } catch (error) {
      report(error, { retry: () => void loadMore() });
    } finally {
      loadingMore = false;
      more.removeAttribute('aria-busy');
    }
  };
  more.addEventListener('click', () => void loadMore());

  // Every finished todo, shown or not; the list is read again afterwards.
  const clear = h('button', { type: 'button', className: 'btn small clear-finished' }, 'Clear finished');
  clear.addEventListener('click', () => {
    clearFinishedWithUndo(ul, (deleted) => {
      announce(deleted === 0 ? 'There were no finished todos.' : `Deleted ${deleted} finished ${deleted === 1 ? 'todo' : 'todos'}.`);
      void reload();
    });
    refresh();
  });

  const add = (todo: Todo) => {
    if (!matches(filter, todo)) {
      announce('Added. Choose All or Open to see it.');
      return;
    }
    seen.add(todo.id);
    ul.prepend(todoItem(todo, hooks));
    refresh();
  };

  const element = h(
    'section',
    { className: 'card list', attrs: { 'aria-labelledby': 'list-title' } },
    h('div', { className: 'list-head' }, heading, filters),
    summary,
    ul,
    empty,
    more,
    h('div', { className: 'list-foot' }, clear),
  );
  return { element, reload, add };
}
