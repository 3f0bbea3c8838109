import escapeHtml from 'escape-html';
import type { PublicList } from './service';

// Server-rendered and read-only. Every piece of user text goes through
// escapeHtml; no inline script or style, so the strict CSP holds.

const shell = (title: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/public.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;

const dateFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeZone: 'UTC' });

export function renderList(list: PublicList): string {
  const items = list.data.map((todo) => {
    const state = todo.is_finished ? 'done' : 'open';
    return (
      `<li class="${state}"><span class="state">${todo.is_finished ? 'Done' : 'Open'}</span> ` +
      `<span class="content">${escapeHtml(todo.content)}</span> ` +
      `<time datetime="${todo.created_at.toISOString()}">${dateFormat.format(todo.created_at)}</time></li>`
    );
  });
  const older = list.next_cursor
    ? `<nav><a rel="next" href="/u/${escapeHtml(list.slug)}?cursor=${escapeHtml(list.next_cursor)}">Older todos</a></nav>`
    : '';
  const body = `<h1>${escapeHtml(list.slug)}’s todos</h1>
${items.length ? `<ol class="todos">\n${items.join('\n')}\n</ol>` : '<p>Nothing here yet.</p>'}
${older}
<p class="note">A read-only list, published with todo-stack.</p>`;
  return shell(`${list.slug}’s todos`, body);
}

export function renderNotFound(): string {
  return shell('Not found', '<h1>Not found</h1>\n<p>No list is published under this name.</p>');
}
