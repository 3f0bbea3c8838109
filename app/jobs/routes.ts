import { Router } from 'express';
import { z } from 'zod';
import { requireUser, userIdOf } from '../accounts/auth';
import type { Deps } from '../deps';
import { parseInput, pathId } from '../input';
import { cursorParam, wholeNumber } from '../todos/schema';
import { streamJob } from './events';
import * as service from './service';

const jobListQuery = z.object({
  limit: wholeNumber(1, 100, 'page size').default(20),
  cursor: cursorParam,
});

/** GET /api/jobs, /api/jobs/:id and its events stream: a user's own jobs only. */
export function jobsRouter(deps: Deps): Router {
  const router = Router();
  router.use(requireUser);
  const idOf = (raw: unknown) => pathId(raw, 'There is no such job.');

  router.get('/', async (req, res) => {
    const query = parseInput(jobListQuery, req.query, 'query');
    res.set('Cache-Control', 'no-store').json(await service.listJobs(deps, userIdOf(req), query));
  });

  router.get('/:id', async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await service.getJob(deps, userIdOf(req), idOf(req.params.id)));
  });

  router.get('/:id/events', async (req, res) => {
    const userId = userIdOf(req);
    // Looked up before the stream starts, so an unknown job is a plain 404.
    streamJob(deps, res, userId, await service.getJob(deps, userId, idOf(req.params.id)));
  });

  return router;
}
