import { parseImport, type ImportFormat } from '../../app/todos/import-parse';

/** The records of an upload, as plain values to compare. */
export function parsed(upload: string | Buffer, format: ImportFormat): unknown[] {
  return [...parseImport(Buffer.from(upload), format)].map((r) =>
    'errors' in r
      ? r
      : {
          line: r.line,
          content: r.todo.content,
          is_finished: r.todo.isFinished,
          created_at: r.todo.createdAt?.toISOString() ?? null,
          finished_at: r.todo.finishedAt?.toISOString() ?? null,
          id: r.todo.sourceId,
        },
  );
}
