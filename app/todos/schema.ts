import { z } from 'zod';
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
