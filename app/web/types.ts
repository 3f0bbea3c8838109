// The API's JSON shapes, as the server writes them (times are ISO strings).

export type User = { id: string; email: string; public_slug: string | null; created_at: string };

export type SessionInfo = { user: User; csrf_token: string };

export type Todo = {
  id: string;
  content: string;
  is_finished: boolean;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
};

export type TodoPage = { data: Todo[]; next_cursor: string | null };

export type Filter = 'all' | 'open' | 'finished';

export type Job = {
  id: string;
  kind: 'import';
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number | null };
  result: { created: number; skipped: number; invalid: Array<{ line: number; errors: string[] }>; invalid_count: number };
  error: string | null;
};
