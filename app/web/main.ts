import { api } from './api';
import { authView } from './auth-view';
import { announce, showNotice } from './notice';
import { ApiError } from './problem';
import { onSessionEnded, report } from './report';
import { setSession } from './session';
import { commitPendingDeletes } from './todo-delete';
import { todosView } from './todos-view';
import type { SessionInfo } from './types';

const main = () => document.getElementById('app');
const account = () => document.getElementById('account');

function showAuth(): void {
  setSession(null);
  account()?.replaceChildren();
  main()?.replaceChildren(authView(showTodos));
  main()?.removeAttribute('aria-busy');
  document.title = 'Log in · todo-stack';
}

function showTodos(session: SessionInfo): void {
  setSession(session);
  const view = todosView(session, () => {
    showAuth();
    announce('You are logged out.');
    document.getElementById('auth-email')?.focus();
  });
  account()?.replaceChildren(...view.account);
  main()?.replaceChildren(...view.main);
  main()?.removeAttribute('aria-busy');
  document.title = 'Your todos · todo-stack';
  view.start();
}

// GET /api/session says whether this browser is signed in, and gives the CSRF token.
async function boot(): Promise<void> {
  try {
    showTodos(await api<SessionInfo>('GET', '/api/session'));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showAuth();
    report(error, { retry: () => void boot(), failed: 'The page could not start.' });
  }
}

onSessionEnded(() => {
  showAuth();
  showNotice('Your session has ended (you may have logged out in another tab). Log in again.');
});
// The page going away must not lose a delete that is waiting for its undo time.
window.addEventListener('pagehide', () => void commitPendingDeletes(true));
void boot();

// The root package.json says "type": "commonjs", so esbuild would wrap an
// entry without exports as a CommonJS module (extra runtime code); this
// marks it as the ES module it is.
export {};
