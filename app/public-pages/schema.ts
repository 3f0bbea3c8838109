import { z } from 'zod';
import { SLUG } from '../accounts/schema';
import { cursorParam, pageSize, todoPage } from '../todos/schema';

export const PAGE_SIZE = 20;

export const slugParam = z.object({
  slug: z.string().regex(SLUG, 'must be 3 to 40 of a-z, 0-9 and -').describe('a public slug: 3 to 40 of a-z, 0-9 and -'),
});

export const publicQuery = z.object({
  cursor: cursorParam,
  limit: pageSize(100, PAGE_SIZE),
});

/** GET /api/public/{slug}/todos: a page of a published list, as the owner's own list pages are. */
export const publicPage = todoPage;
