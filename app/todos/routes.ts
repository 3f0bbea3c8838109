import { Router, type Request, type Response } from 'express';
import { requireUser, userIdOf } from '../accounts/auth';
import type { Deps } from '../deps';
import { sendTagged } from '../etag';
import { notFound } from '../errors';
import { formValues, parseInput } from '../input';
import { createBody, idempotencyHeader, listQuery, patchBody, todoId } from './schema';
import * as service from './service';

// Private: a cache may keep it but must revalidate every time.
const PRIVATE = 'private, no-cache';
const JSON_TYPE = 'application/json; charset=utf-8';
const sendJson = (res: Response, body: unknown) => sendTagged(res, JSON_TYPE, JSON.stringify(body), PRIVATE);

// A malformed id cannot name a todo: 404, like any todo that is not yours.
function idOf(req: Request): string {
  const id = todoId.safeParse(req.params.id);
  if (!id.success) throw notFound('There is no such todo.');
  return id.data;
}

export function todosRouter(deps: Deps): Router {
  const router = Router();
  router.use(requireUser);

  router.get('/', async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    const page = await service.renderPage(deps, userIdOf(req), query);
    res.set('X-Cache', page.cache);
    sendTagged(res, JSON_TYPE, page.body, PRIVATE, page.etag);
  });

  router.post('/', async (req, res) => {
    const { content } = parseInput(createBody, req.body ?? {}, 'body');
    const { 'Idempotency-Key': key } = parseInput(idempotencyHeader, { 'Idempotency-Key': req.get('Idempotency-Key') }, 'headers');
    const created = await service.createTodo(deps, userIdOf(req), content, key);
    if (created.location) res.location(created.location);
    if (created.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(created.status).set('Cache-Control', 'no-store').json(created.body);
  });

  router.get('/:id', async (req, res) => {
    sendJson(res, await service.getTodo(deps, userIdOf(req), idOf(req)));
  });

  router.patch('/:id', async (req, res) => {
    const id = idOf(req);
    const body = parseInput(patchBody, formValues(req, req.body ?? {}, { booleans: ['is_finished'] }), 'body');
    const todo = await service.updateTodo(deps, userIdOf(req), id, { content: body.content, isFinished: body.is_finished });
    res.set('Cache-Control', 'no-store').json(todo);
  });

  // The tutorial's verb for finishing a todo.
  router.put('/:id/finish', async (req, res) => {
    const todo = await service.updateTodo(deps, userIdOf(req), idOf(req), { isFinished: true });
    res.set('Cache-Control', 'no-store').json(todo);
  });

  router.delete('/:id', async (req, res) => {
    await service.deleteTodo(deps, userIdOf(req), idOf(req));
    res.status(204).end();
  });

  return router;
}
