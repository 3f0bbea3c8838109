import { z } from 'zod';
import { SLUG } from '../accounts/schema';
import { cursorParam, wholeNumber } from '../todos/schema';

export const PAGE_SIZE = 20;

export const slugParam = z.object({
  slug: z.string().regex(SLUG, 'must be 3 to 40 of a-z, 0-9 and -').describe('a public slug: 3 to 40 of a-z, 0-9 and -'),
});

export const publicQuery = z.object({
  cursor: cursorParam,
  limit: wholeNumber(1, 100, 'page size').default(PAGE_SIZE),
});
