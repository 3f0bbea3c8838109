import { z } from 'zod';
import { parseIfMatch } from '../etag';
import { codePoints, text } from '../input';
import { decodeCursor } from './cursor';

export const content = text()
  .transform((s) => s.trim())
  .refine((s) => codePoints(s) >= 1, 'must not be empty or only whitespace')
  .refine((s) => codePoints(s) <= 1000, 'must be at most 1000 characters')
  .describe('a string of 1 to 1000 characters (surrounding whitespace is trimmed)')
  // The refinements, for the API description (lengths count code points, after trimming).
  .meta({ minLength: 1, maxLength: 1000, example: 'Buy milk' });

export const isFinished = z.boolean().describe('true or false');

export const createBody = z.strictObject({ content });

export const patchBody = z
  .strictObject({
    content: content.optional(),
    is_finished: isFinished.optional(),
  })
  .refine((b) => b.content !== undefined || b.is_finished !== undefined, {
    message: 'must set content, is_finished or both',
    path: ['(body)'],
  })
  .meta({ minProperties: 1, description: 'content, is_finished or both' });

export const wholeNumber = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .describe(`${what}: a whole number from ${min} to ${max}`)
    // On the wire it is text; to clients it is a whole number in this range.
    .meta({ type: 'integer', minimum: min, maximum: max });

/** `limit`: a page size, `fallback` when absent. */
export const pageSize = (max: number, fallback: number) => wholeNumber(1, max, 'page size').default(fallback).meta({ default: fallback });

export const cursorParam = z
  .string()
  .transform((raw, ctx) => {
    const cursor = decodeCursor(raw);
    if (!cursor) ctx.addIssue({ code: 'custom', message: 'is not a cursor this API issued' });
    return cursor ?? z.NEVER;
  })
  .optional()
  .describe('the next_cursor value of a previous page');

export const listQuery = z
  .object({
    limit: pageSize(100, 10),
    start: wholeNumber(0, 10_000, 'offset').optional(),
    cursor: cursorParam,
    is_finished: z
      .enum(['true', 'false'], 'must be true or false')
      .transform((v) => v === 'true')
      .optional()
      .describe('true or false'),
  })
  .refine((q) => q.start === undefined || q.cursor === undefined, {
    message: 'cannot be combined with cursor',
    path: ['start'],
  });
// (`start` with `cursor` is a 422: the description of `start` says so, app/todos/openapi.ts.)

export type ListQuery = z.output<typeof listQuery>;

export const exportQuery = z.object({
  format: z.enum(['ndjson', 'csv'], 'must be ndjson or csv').default('ndjson').describe('ndjson (the default) or csv'),
});

export const idempotencyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .regex(/^[\x21-\x7e]{1,200}$/, 'must be 1 to 200 visible ASCII characters')
    .optional()
    .describe('1 to 200 visible ASCII characters, unique per intended request'),
});

// --- What the API answers (described in app/todos/openapi.ts) ----------------

const time = (description: string) =>
  z.date().meta({ description: `${description}: ISO 8601, UTC, milliseconds`, example: '2026-01-02T03:04:05.678Z' });

/** A todo as every answer shows it (the export's lines too). */
export const todo = z
  .object({
    id: z.uuid().meta({ example: '0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e' }),
    content: z.string().meta({ minLength: 1, maxLength: 1000, description: 'trimmed; 1 to 1000 characters', example: 'Buy milk' }),
    is_finished: z.boolean(),
    created_at: time('when it was made'),
    updated_at: time('when it last changed'),
    finished_at: time('when it was finished').nullable().meta({ description: 'when it was finished; null unless finished' }),
  })
  .meta({ id: 'Todo' });

export const nextCursor = z.string().nullable().meta({
  description: 'Send as `cursor` for the next page; null on the last page. Opaque.',
  example: 'WyIyMDI2LTAxLTAyVDAzOjA0OjA1LjY3OFoiLCIwMTkwIl0',
});

/** A page of a list, newest first. */
export const todoPage = z.object({ data: z.array(todo), next_cursor: nextCursor }).meta({ id: 'TodoPage' });

export type TodoBody = z.output<typeof todo>;
export type TodoPageBody = z.output<typeof todoPage>;

export const todoId = z.uuid('must be a todo id (a UUID)').describe('the id of one of your todos');

/** If-Match's grammar (RFC 9110 §13.1.1), parsed; a batch operation's if_match takes the same. */
export const ifMatch = z
  .string()
  .transform((raw, ctx) => {
    const parsed = parseIfMatch(raw);
    if (!parsed) ctx.addIssue({ code: 'custom', message: 'is not "*" or a comma-separated list of quoted ETags' });
    return parsed ?? z.NEVER;
  })
  .describe('the todo\'s ETag as GET /api/todos/:id gives it (its updated_at, quoted), a comma-separated list of them, or "*"');

export const ifMatchHeader = z.object({ 'If-Match': ifMatch.optional() });

export const BATCH_MAX_OPERATIONS = 100;

export const batchCreate = z
  .strictObject({ op: z.literal('create').describe('"create"'), content })
  .describe('creates a todo, like POST /api/todos');

export const batchUpdate = z
  .strictObject({
    op: z.literal('update').describe('"update"'),
    id: todoId,
    content: content.optional(),
    is_finished: isFinished.optional(),
    if_match: ifMatch.optional(),
  })
  .refine((o) => o.content !== undefined || o.is_finished !== undefined, {
    message: 'must set content, is_finished or both',
    path: ['(body)'],
  })
  .describe('changes a todo, like PATCH /api/todos/:id');

export const batchFinish = z
  .strictObject({ op: z.literal('finish').describe('"finish"'), id: todoId, if_match: ifMatch.optional() })
  .describe('finishes a todo, like PUT /api/todos/:id/finish');

export const batchDelete = z
  .strictObject({ op: z.literal('delete').describe('"delete"'), id: todoId, if_match: ifMatch.optional() })
  .describe('deletes a todo, like DELETE /api/todos/:id');

export const batchOperation = z
  .discriminatedUnion('op', [batchCreate, batchUpdate, batchFinish, batchDelete])
  .describe('one write, named by op: create, update, finish or delete');
export type BatchOperation = z.output<typeof batchOperation>;

/** What names an operation's kind, for a useful error when it names none. */
export const batchOperationKind = z.object({
  op: z
    .enum(['create', 'update', 'finish', 'delete'], 'must be create, update, finish or delete')
    .describe('create, update, finish or delete'),
});

export const batchBody = z
  .strictObject({
    operations: z
      .array(batchOperation)
      .min(1, 'must hold at least one operation')
      .max(BATCH_MAX_OPERATIONS, `must hold at most ${BATCH_MAX_OPERATIONS} operations`)
      .describe(`1 to ${BATCH_MAX_OPERATIONS} operations, applied in order, all or none`),
  })
  .describe('POST /api/todos/batch: writes applied in one transaction');

export const batchResult = z
  .object({
    status: z
      .union([z.literal(200), z.literal(201), z.literal(204)])
      .describe('the status the single request would have had: 201 create, 200 update or finish, 204 delete'),
    todo: todo.optional().describe('the todo as written (not for a delete)'),
    etag: z.string().optional().describe("the todo's new ETag, for the next if_match (not for a delete)"),
  })
  .describe("one operation's outcome, at the index of its operation");

export const batchResponse = z
  .object({ results: z.array(batchResult).describe('one result per operation, in their order') })
  .describe('what each operation of a batch did');

export const clearFinishedQuery = z
  .strictObject({
    is_finished: z.literal('true', 'must be true: only finished todos are cleared').describe('true'),
  })
  .describe('DELETE /api/todos: the only filter a clear takes');

export const clearFinishedResponse = z.object({
  deleted: z.number().int().min(0).describe('how many finished todos were deleted'),
  has_more: z
    .boolean()
    .describe('whether finished todos are left: one request deletes at most the per-user todo limit, so only a list over it has any'),
});
