import { z } from 'zod';
import { parseIfMatch } from '../etag';
import { codePoints, text } from '../input';
import { decodeCursor } from './cursor';

export const content = text()
  .transform((s) => s.trim())
  .refine((s) => codePoints(s) >= 1, 'must not be empty or only whitespace')
  .refine((s) => codePoints(s) <= 1000, 'must be at most 1000 characters')
  .describe('a string of 1 to 1000 characters (surrounding whitespace is trimmed)');

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
  });

export const wholeNumber = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .describe(`${what}: a whole number from ${min} to ${max}`);

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
    limit: wholeNumber(1, 100, 'page size').default(10),
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

// A todo as every answer gives it.
const instant = (what: string) => z.iso.datetime({ precision: 3 }).describe(`${what}: ISO 8601 in UTC with milliseconds`);
export const todoResponse = z
  .object({
    id: z.uuid().describe('the todo id (a UUID)'),
    content: z.string().describe('the text, 1 to 1000 characters, trimmed'),
    is_finished: z.boolean().describe('whether it is finished'),
    created_at: instant('when it was made'),
    updated_at: instant("when it last changed; quoted, it is the todo's ETag"),
    finished_at: instant('when it was finished').nullable().describe('when it was finished, or null while it is open'),
  })
  .describe('a todo');

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
    todo: todoResponse.optional().describe('the todo as written (not for a delete)'),
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
