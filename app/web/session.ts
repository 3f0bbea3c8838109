import type { SessionInfo } from './types';

// Who is signed in in this page, and the CSRF token their unsafe requests
// must echo. Kept in memory only: the sid cookie is HttpOnly and the token
// is fetched again from GET /api/session on every load.
let current: SessionInfo | null = null;

export const currentSession = (): SessionInfo | null => current;

export function setSession(next: SessionInfo | null): void {
  current = next;
}
