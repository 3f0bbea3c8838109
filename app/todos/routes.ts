import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { requireUser, userIdOf } from '../accounts/auth';
import type { Deps } from '../deps';
import type { PrivateCopy } from '../edge';
import { sendTagged } from '../etag';
import { isSafeMethod } from '../http-methods';
import { unsupportedMediaType } from '../errors';
import { formValues, parseInput, pathId } from '../input';
import { nginxContract } from '../nginx-contract';
import { parseBatch, runBatch } from './batch';
import { exportTodos } from './export';
import { exportSlots } from './export-slots';
import { acceptImport, IMPORT_MAX_BYTES } from './import';
import { clearFinishedQuery, createBody, exportQuery, idempotencyHeader, ifMatchHeader, listQuery, patchBody } from './schema';
import * as service from './service';
import type { Todo } from './service';
import { todoEtag } from './versions';

export const IMPORT_PATH = '/api/todos/import';

// Private: a cache may keep it but must revalidate every time.
const PRIVATE = 'private, no-cache';
const JSON_TYPE = 'application/json; charset=utf-8';

const idOf = (req: Request) => pathId(req.params.id, 'There is no such todo.');
const idempotencyKeyOf = (req: Request) =>
  parseInput(idempotencyHeader, { 'Idempotency-Key': req.get('Idempotency-Key') }, 'headers')['Idempotency-Key'];
const ifMatchOf = (req: Request) => parseInput(ifMatchHeader, { 'If-Match': req.get('If-Match') }, 'headers')['If-Match'];

/** A todo as written, with the ETag that names this version (for the next If-Match). */
const sendWritten = (res: Response, todo: Todo) => res.set({ 'Cache-Control': 'no-store', ETag: todoEtag(todo) }).json(todo);

// A batch is JSON only, up to its own limit (app/nginx-contract.json), read
// after authentication; app.ts leaves its body to this parser.
const JSON_TYPES = ['application/json', 'application/*+json'];
const batchJson = express.json({ limit: nginxContract.batchLimitBytes, type: JSON_TYPES });
const onlyJson: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is(JSON_TYPES)) throw unsupportedMediaType('Send a batch as application/json.');
  next();
};

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
    const created = await service.createTodo(deps, userIdOf(req), content, idempotencyKeyOf(req));
    if (created.location) res.location(created.location);
    if (created.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(created.status).set('Cache-Control', 'no-store').json(created.body);
  });

  // Clear finished: the only filter it takes is the one it is named for.
  router.delete('/', async (req, res) => {
    parseInput(clearFinishedQuery, req.query, 'query');
    res.set('Cache-Control', 'no-store').json(await service.clearFinished(deps, userIdOf(req)));
  });

  router.post('/batch', onlyJson, batchJson, async (req, res) => {
    const key = idempotencyKeyOf(req);
    const done = await runBatch(deps, userIdOf(req), parseBatch(req.body ?? {}), key);
    if (done.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(done.status).set('Cache-Control', 'no-store').json(done.body);
  });

  // Any type is read here; acceptImport says which it takes (NDJSON, CSV).
  router.post('/import', express.raw({ type: () => true, limit: IMPORT_MAX_BYTES }), async (req, res) => {
    const key = idempotencyKeyOf(req);
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
    const todo: Todo = await service.getTodo(deps, userIdOf(req), idOf(req));
    sendTagged(req, res, JSON_TYPE, JSON.stringify(todo), PRIVATE, todoEtag(todo));
  });

  // Writes take If-Match (versions.ts): 412 when the todo changed since.
  router.patch('/:id', async (req, res) => {
    const id = idOf(req);
    const body = parseInput(patchBody, formValues(req, req.body ?? {}, { booleans: ['is_finished'] }), 'body');
    const change = { content: body.content, isFinished: body.is_finished };
    sendWritten(res, await service.updateTodo(deps, userIdOf(req), id, change, ifMatchOf(req)));
  });

  // The tutorial's verb for finishing a todo.
  router.put('/:id/finish', async (req, res) => {
    const id = idOf(req);
    sendWritten(res, await service.updateTodo(deps, userIdOf(req), id, { isFinished: true }, ifMatchOf(req)));
  });

  router.delete('/:id', async (req, res) => {
    const id = idOf(req);
    await service.deleteTodo(deps, userIdOf(req), id, ifMatchOf(req));
    res.status(204).end();
  });

  return router;
}
