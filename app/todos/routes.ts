import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { requireUser, userIdOf } from '../accounts/auth';
import type { Deps } from '../deps';
import type { PrivateCopy } from '../edge';
import { sendTagged } from '../etag';
import { isSafeMethod } from '../http-methods';
import { formValues, parseInput, pathId } from '../input';
import { exportTodos } from './export';
import { exportSlots } from './export-slots';
import { acceptImport, IMPORT_MAX_BYTES } from './import';
import { createBody, exportQuery, idempotencyHeader, listQuery, patchBody } from './schema';
import * as service from './service';
import type { Todo } from './service';

export const IMPORT_PATH = '/api/todos/import';

// Private: a cache may keep it but must revalidate every time.
const PRIVATE = 'private, no-cache';
const JSON_TYPE = 'application/json; charset=utf-8';
const sendTodo = (req: Request, res: Response, body: Todo) => sendTagged(req, res, JSON_TYPE, JSON.stringify(body), PRIVATE);

const idOf = (req: Request) => pathId(req.params.id, 'There is no such todo.');

/**
 * For GET /api/todos with an API token, mounted before anything that can
 * refuse the request: nginx may hold a copy of this page for the token
 * (app/edge.ts). When nginx is refreshing an expired copy and the answer is
 * one it may not keep (a refused token, a limit, an error, an admission
 * that failed), that copy is dropped.
 */
export function privateCopies(deps: Deps): RequestHandler {
  return (req, res, next) => {
    // nginx caches GETs of this exact path only (nginx/sites/todo-stack.conf).
    if (!req.tokenDigest || !isSafeMethod(req.method) || req.originalUrl.split('?', 1)[0] !== '/api/todos') return next();
    const copy = deps.edge.copyFor(req.tokenDigest, req.originalUrl);
    res.locals.edgeCopy = copy;
    if (deps.edge.isRefreshing(req.headers['x-edge-copy'])) {
      res.once('finish', () => {
        if (res.locals.edgeTtl === undefined) void deps.edge.drop(copy);
      });
    }
    next();
  };
}

export function todosRouter(deps: Deps): Router {
  const router = Router();
  router.use(requireUser);

  router.get('/', async (req, res) => {
    const query = parseInput(listQuery, req.query, 'query');
    const page = await service.renderPage(deps, userIdOf(req), query);
    const copy = res.locals.edgeCopy as PrivateCopy | undefined;
    if (copy && req.auth?.kind === 'token') {
      const ttl = await deps.edge.admit(copy, req.auth.userId, [req.auth.stamp, page.stamp]);
      res.locals.edgeTtl = ttl;
      // Read by nginx alone (it does not pass it on); clients still revalidate.
      if (ttl) res.set('X-Accel-Expires', String(ttl));
    }
    res.set('X-Cache', page.cache);
    sendTagged(req, res, JSON_TYPE, page.body, PRIVATE, page.etag);
  });

  router.post('/', async (req, res) => {
    const { content } = parseInput(createBody, req.body ?? {}, 'body');
    const { 'Idempotency-Key': key } = parseInput(idempotencyHeader, { 'Idempotency-Key': req.get('Idempotency-Key') }, 'headers');
    const created = await service.createTodo(deps, userIdOf(req), content, key);
    if (created.location) res.location(created.location);
    if (created.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(created.status).set('Cache-Control', 'no-store').json(created.body);
  });

  // Any type is read here; acceptImport says which it takes (NDJSON, CSV).
  router.post('/import', express.raw({ type: () => true, limit: IMPORT_MAX_BYTES }), async (req, res) => {
    const { 'Idempotency-Key': key } = parseInput(idempotencyHeader, { 'Idempotency-Key': req.get('Idempotency-Key') }, 'headers');
    const upload = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const accepted = await acceptImport(deps, userIdOf(req), upload, req.get('Content-Type'), key);
    if (accepted.location) res.location(accepted.location);
    if (accepted.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(accepted.status).set('Cache-Control', 'no-store').json(accepted.body);
  });

  const slots = exportSlots(deps);
  // Before '/:id', which would take "export" for an id.
  router.get('/export', async (req, res) => {
    const { format } = parseInput(exportQuery, req.query, 'query');
    await exportTodos(deps, slots, req, res, userIdOf(req), format);
  });

  router.get('/:id', async (req, res) => {
    sendTodo(req, res, await service.getTodo(deps, userIdOf(req), idOf(req)));
  });

  router.patch('/:id', async (req, res) => {
    const id = idOf(req);
    const body = parseInput(patchBody, formValues(req, req.body ?? {}, { booleans: ['is_finished'] }), 'body');
    const todo = await service.updateTodo(deps, userIdOf(req), id, { content: body.content, isFinished: body.is_finished });
    res.set('Cache-Control', 'no-store').json(todo satisfies Todo);
  });

  // The tutorial's verb for finishing a todo.
  router.put('/:id/finish', async (req, res) => {
    const todo = await service.updateTodo(deps, userIdOf(req), idOf(req), { isFinished: true });
    res.set('Cache-Control', 'no-store').json(todo satisfies Todo);
  });

  router.delete('/:id', async (req, res) => {
    await service.deleteTodo(deps, userIdOf(req), idOf(req));
    res.status(204).end();
  });

  return router;
}
