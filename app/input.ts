import type { Request } from 'express';
import { z } from 'zod';
import { notFound, unprocessable, type FieldError } from './errors';

const PLACES = { body: 'request body', query: 'query string', headers: 'request headers', params: 'path' } as const;

/**
 * Parses untrusted input against a schema, or throws a 422 whose errors say
 * which field failed, why, and what was expected (from the field's
 * `.describe()` text, or the issue itself).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, where: keyof typeof PLACES): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => toFieldError(schema, issue));
  const fields = [...new Set(errors.map((e) => e.field))].join(', ');
  throw unprocessable(`The ${PLACES[where]} is not valid (${fields}).`, errors);
}

function toFieldError(schema: z.ZodType, issue: z.core.$ZodIssue): FieldError {
  const path = issue.code === 'unrecognized_keys' ? issue.keys : issue.path.map(String);
  const field = path.join('.') || '(body)';
  if (issue.code === 'unrecognized_keys') {
    return { field, message: 'is not a known field', expected: `only: ${knownFields(schema).join(', ')}` };
  }
  return { field, message: issue.message, expected: describe(schema, issue.path) ?? fallbackExpected(issue) };
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  const def = (schema as { def?: { shape?: Record<string, z.ZodType>; innerType?: z.ZodType; in?: z.ZodType } }).def;
  if (def?.shape) return def.shape;
  if (def?.innerType) return shapeOf(def.innerType);
  if (def?.in) return shapeOf(def.in);
  return undefined;
}

function knownFields(schema: z.ZodType): string[] {
  return Object.keys(shapeOf(schema) ?? {});
}

function describe(schema: z.ZodType, path: PropertyKey[]): string | undefined {
  const key = path[0];
  let field: z.ZodType | undefined = typeof key === 'string' ? shapeOf(schema)?.[key] : schema;
  // .optional(), .default() and the like wrap the described schema.
  while (field && !field.description) {
    field = (field as { def?: { innerType?: z.ZodType } }).def?.innerType;
  }
  return field?.description;
}

function fallbackExpected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'too_small':
      return `at least ${String(issue.minimum)}`;
    case 'too_big':
      return `at most ${String(issue.maximum)}`;
    default:
      return 'a valid value';
  }
}

/**
 * HTML forms send every value as text: "true"/"false" stand for booleans and
 * an empty field for null. JSON clients must send the real types.
 */
export function formValues(req: Request, body: unknown, fields: { booleans?: string[]; nullables?: string[] }): unknown {
  if (!req.is('application/x-www-form-urlencoded') || typeof body !== 'object' || body === null) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const f of fields.booleans ?? []) {
    if (copy[f] === 'true') copy[f] = true;
    else if (copy[f] === 'false') copy[f] = false;
  }
  for (const f of fields.nullables ?? []) if (copy[f] === '') copy[f] = null;
  return copy;
}

/** A string that PostgreSQL can store as text and that round-trips byte-exact. */
export const text = () =>
  z
    .string()
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine((s) => s.isWellFormed(), 'must be well-formed Unicode (no lone surrogates)');

export const codePoints = (s: string) => [...s].length;

const uuid = z.uuid();

/**
 * A resource id from the path. A malformed one cannot name anything: 404,
 * like an id that is not the caller's, so existence is never disclosed.
 */
export function pathId(raw: unknown, notFoundDetail: string): string {
  const id = uuid.safeParse(raw);
  if (!id.success) throw notFound(notFoundDetail);
  return id.data;
}
