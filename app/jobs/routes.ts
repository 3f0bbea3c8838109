import { Router } from 'express';
import { requireUser, userIdOf } from '../accounts/auth';
import type { Deps } from '../deps';
import { parseInput, pathId } from '../input';
import { streamJob } from './events';
import type { z } from 'zod';
import { jobListQuery, type JobBody, type jobPage } from './schema';
import * as service from './service';

/** GET /api/jobs, /api/jobs/:id and its events stream: a user's own jobs only. */
export function jobsRouter(deps: Deps): Router {
  const router = Router();
  router.use(requireUser);
  const idOf = (raw: unknown) => pathId(raw, 'There is no such job.');

  router.get('/', async (req, res) => {
    const query = parseInput(jobListQuery, req.query, 'query');
    res.set('Cache-Control', 'no-store').json((await service.listJobs(deps, userIdOf(req), query)) satisfies z.output<typeof jobPage>);
  });

  router.get('/:id', async (req, res) => {
    res.set('Cache-Control', 'no-store').json((await service.getJob(deps, userIdOf(req), idOf(req.params.id))) satisfies JobBody);
  });

  router.get('/:id/events', async (req, res) => {
    const userId = userIdOf(req);
    // Looked up before the stream starts, so an unknown job is a plain 404.
    streamJob(deps, res, userId, await service.getJob(deps, userId, idOf(req.params.id)));
  });

  return router;
}
