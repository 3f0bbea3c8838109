import { Router } from 'express';
import type { Deps } from '../deps';
import { sendTagged } from '../etag';
import { AppError } from '../errors';
import { parseInput } from '../input';
import { renderList, renderNotFound } from './page';
import type { z } from 'zod';
import { publicQuery, slugParam, type publicPage } from './schema';
import { publicList } from './service';

// Anonymous and the same for everyone: nginx keeps a copy. One second, the
// shortest max-age HTTP can say, bounds how long an owner's change can take
// to show (nginx's cache counts whole seconds; see nginx/snippets/public-cache.conf).
const PUBLIC = 'public, max-age=1';

/** Mounted before authentication: a cookie or token changes nothing here. */
export function publicPagesRouter(deps: Deps): Router {
  const router = Router();

  router.get('/api/public/:slug/todos', async (req, res) => {
    const { slug } = parseInput(slugParam, req.params, 'params');
    const page = parseInput(publicQuery, req.query, 'query');
    const list = await publicList(deps, slug, page);
    const body = { data: list.data, next_cursor: list.next_cursor } satisfies z.output<typeof publicPage>;
    sendTagged(req, res, 'application/json; charset=utf-8', JSON.stringify(body), PUBLIC);
  });

  router.get('/u/:slug', async (req, res) => {
    const slug = slugParam.safeParse(req.params);
    const page = publicQuery.safeParse(req.query);
    try {
      if (!slug.success || !page.success) throw new AppError({ status: 404, code: 'not-found', title: 'Not found', detail: '' });
      const list = await publicList(deps, slug.data.slug, page.data);
      sendTagged(req, res, 'text/html; charset=utf-8', renderList(list), PUBLIC);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 404) throw err;
      // A short-lived copy of "not found" too, so unknown names cannot be
      // used to hammer the database through the edge cache.
      res.status(404).set('Cache-Control', PUBLIC).type('text/html; charset=utf-8').send(renderNotFound());
    }
  });

  return router;
}
