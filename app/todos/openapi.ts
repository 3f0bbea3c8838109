// The todo routes (app/todos/routes.ts) in the API description.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { describeRoute, empty, HEADERS, idParam, ifMatch, ifNoneMatch, json, notModified } from '../api-description';
import { job } from '../jobs/schema';
import { CSV_COLUMNS } from './export';
import { IMPORT_MAX_LINES, UNFINISHED_IMPORTS_PER_USER } from './import';
import {
  BATCH_MAX_OPERATIONS,
  batchBody,
  batchResponse,
  clearFinishedQuery,
  clearFinishedResponse,
  content,
  createBody,
  exportQuery,
  idempotencyHeader,
  listQuery,
  patchBody,
  todo,
  todoPage,
} from './schema';

const tags = ['Todos'];
const todoId = idParam('todo');
// HTML forms send text: "true"/"false" stand for booleans (app/input.ts, formValues).
const patchForm = z.object({ content: content.optional(), is_finished: z.enum(['true', 'false']).optional() }).meta({ minProperties: 1 });
const jsonOrForm = (schema: z.ZodType, form: z.ZodType = schema) => ({
  content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema: form } },
  required: true,
});
// A write answers the todo's new version, for the next If-Match.
const written = (description: string) => json(description, todo, { ETag: HEADERS.version, 'Cache-Control': HEADERS.cacheControl });
// If-Match that names another version: the problem, with the version there is now (none when it is gone).
const changed = {
  description: 'The todo is not at the version If-Match names (another client wrote it), or If-Match is empty: nothing was written.',
  headers: { ETag: HEADERS.currentVersion },
};
// The conditional writes: a malformed If-Match is 422, one naming another version 412.
const conditional = ['not-found', 'todo-changed', 'validation-failed'] as const;
const created = {
  Location: HEADERS.location,
  'Cache-Control': HEADERS.cacheControl,
  'Idempotent-Replayed': HEADERS.replayed,
};

export function describeTodos(registry: OpenAPIRegistry): void {
  describeRoute(registry, {
    method: 'get',
    path: '/api/todos',
    operationId: 'listTodos',
    tags,
    summary: 'List todos',
    description:
      'Newest first. Walk `next_cursor` (keyset paging, stable under concurrent writes), or use `start` (an offset, at most 10,000). `start` cannot be combined with `cursor` (422).',
    access: 'user',
    request: { query: listQuery, headers: ifNoneMatch },
    problems: ['validation-failed'],
    responses: {
      200: json('A page of todos.', todoPage, { ETag: HEADERS.etag, 'Cache-Control': HEADERS.cacheControl, 'X-Cache': HEADERS.xCache }),
      304: { ...notModified, headers: { ...notModified.headers, 'X-Cache': HEADERS.xCache } },
    },
  });

  describeRoute(registry, {
    method: 'post',
    path: '/api/todos',
    operationId: 'createTodo',
    tags,
    summary: 'Create a todo',
    description:
      'With an `Idempotency-Key`, a retry with the same key and body within 24 hours answers the first response again (with `Idempotent-Replayed: true`) and creates nothing; the same key with another body is 422.',
    access: 'user',
    body: true,
    request: { headers: idempotencyHeader, body: jsonOrForm(createBody) },
    problems: ['todo-limit-reached', 'idempotency-key-reused'],
    responses: { 201: json('The new todo.', todo, created) },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/todos/{id}',
    operationId: 'getTodo',
    tags,
    summary: 'Read a todo',
    access: 'user',
    request: { params: todoId, headers: ifNoneMatch },
    problems: ['not-found'],
    responses: { 200: json('The todo.', todo, { ETag: HEADERS.version, 'Cache-Control': HEADERS.cacheControl }), 304: notModified },
  });

  describeRoute(registry, {
    method: 'patch',
    path: '/api/todos/{id}',
    operationId: 'updateTodo',
    tags,
    summary: 'Change a todo',
    description:
      'Set `content`, `is_finished` or both. Finishing sets `finished_at`; unfinishing clears it. With `If-Match`, only if the todo is still at that version.',
    access: 'user',
    body: true,
    request: { params: todoId, headers: ifMatch, body: jsonOrForm(patchBody, patchForm) },
    problems: [...conditional],
    responses: { 200: written('The todo as it is now.'), 412: changed },
  });

  describeRoute(registry, {
    method: 'put',
    path: '/api/todos/{id}/finish',
    operationId: 'finishTodo',
    tags,
    summary: 'Finish a todo',
    description: "The original tutorial's verb: the same as PATCH with `is_finished: true`, `If-Match` too. No body.",
    access: 'user',
    request: { params: todoId, headers: ifMatch },
    problems: [...conditional],
    responses: { 200: written('The finished todo.'), 412: changed },
  });

  describeRoute(registry, {
    method: 'delete',
    path: '/api/todos/{id}',
    operationId: 'deleteTodo',
    tags,
    summary: 'Delete a todo',
    description: 'With `If-Match`, only if the todo is still at that version.',
    access: 'user',
    request: { params: todoId, headers: ifMatch },
    problems: [...conditional],
    responses: { 204: empty('Deleted.'), 412: changed },
  });

  describeRoute(registry, {
    method: 'delete',
    path: '/api/todos',
    operationId: 'clearFinishedTodos',
    tags,
    summary: 'Clear finished todos',
    description:
      'Deletes the finished todos, up to the per-user todo limit in one request; `has_more` says whether to send it again. `is_finished=true` is required, and no other parameter is taken (422).',
    access: 'user',
    request: { query: clearFinishedQuery },
    problems: ['validation-failed'],
    responses: { 200: json('How many were deleted.', clearFinishedResponse, { 'Cache-Control': HEADERS.cacheControl }) },
  });

  describeRoute(registry, {
    method: 'post',
    path: '/api/todos/batch',
    operationId: 'batchTodos',
    tags,
    summary: 'Write several todos at once',
    description: `Up to ${BATCH_MAX_OPERATIONS} operations (create, update, finish, delete), applied in order in one transaction: all or none. An operation's \`if_match\` is its If-Match. When one fails, nothing is applied and the problem is that operation's (its status and type, fields named \`operations.<i>.<field>\`) with \`operation_index\`. JSON only, at most 512 KiB (413 from nginx beyond). With an \`Idempotency-Key\`, a retry with the same key and body within 24 hours answers the first response again (with \`Idempotent-Replayed: true\`) and writes nothing.`,
    access: 'user',
    body: true,
    request: {
      headers: idempotencyHeader,
      body: { content: { 'application/json': { schema: batchBody } }, required: true },
    },
    problems: ['not-found', 'todo-limit-reached', 'todo-changed', 'idempotency-key-reused'],
    responses: {
      200: json('Every operation applied, each result at its index.', batchResponse, {
        'Cache-Control': HEADERS.cacheControl,
        'Idempotent-Replayed': HEADERS.replayed,
      }),
    },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/todos/export',
    operationId: 'exportTodos',
    tags: ['Import and export'],
    summary: 'Export every todo',
    description: `The whole list, newest first, from one consistent snapshot, streamed as a download. NDJSON: one Todo (the schema below) per line. CSV (RFC 4180, CRLF): a header row \`${CSV_COLUMNS.join(',')}\`, then a row per todo; a cell that a spreadsheet would run as a formula starts with \`'\`. Two exports of one account may run at once. A failure after the first byte cuts the transfer short, so a partial file never looks whole.`,
    access: 'user',
    request: { query: exportQuery },
    problems: ['validation-failed', 'too-many-exports', 'exports-busy'],
    responses: {
      200: {
        description: 'The list as a file.',
        headers: {
          'Content-Disposition': {
            description: '`attachment; filename="todos-<date>.<format>"`',
            required: true,
            schema: { type: 'string' },
          },
          'Cache-Control': HEADERS.cacheControl,
        },
        content: {
          'application/x-ndjson': {
            schema: { type: 'string', description: 'Lines of JSON, each a Todo (#/components/schemas/Todo).' },
            example:
              '{"id":"0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e","content":"Buy milk","is_finished":false,"created_at":"2026-01-02T03:04:05.678Z","updated_at":"2026-01-02T03:04:05.678Z","finished_at":null}\n',
          },
          'text/csv': {
            schema: { type: 'string' },
            example: `${CSV_COLUMNS.join(',')}\r\n0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e,Buy milk,false,2026-01-02T03:04:05.678Z,2026-01-02T03:04:05.678Z,\r\n`,
          },
        },
      },
    },
  });

  describeRoute(registry, {
    method: 'post',
    path: '/api/todos/import',
    operationId: 'importTodos',
    tags: ['Import and export'],
    summary: 'Import todos from a file',
    description: `Our export (NDJSON or CSV) or Todoist's CSV template export, up to 10 MiB and ${IMPORT_MAX_LINES.toLocaleString('en-US')} lines, as the raw body. The import runs as a job: follow it at the \`Location\`. Lines are checked one by one (bad ones are reported in the job's result, good ones imported); importing the same file twice, or an export into its own account, creates nothing. At most ${UNFINISHED_IMPORTS_PER_USER} imports of one account may be queued or running. With \`text/plain\`, \`application/octet-stream\` or no type, the format is told from the first line.`,
    access: 'user',
    request: {
      headers: idempotencyHeader,
      body: {
        required: true,
        content: {
          'application/x-ndjson': { schema: { type: 'string', description: 'One todo per line, as the export writes them.' } },
          'text/csv': { schema: { type: 'string', description: `Our columns (${CSV_COLUMNS.join(',')}) or Todoist's.` } },
        },
      },
    },
    problems: ['import-too-large', 'empty-import', 'idempotency-key-reused', 'validation-failed', 'too-many-jobs'],
    responses: { 202: json('The job that imports the file.', job, created) },
  });
}
