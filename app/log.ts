import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, Request, RequestHandler } from 'express';
import pino, { type Logger } from 'pino';
import { isSafeMethod } from './http-methods';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

// An id from nginx (or another client) is kept only if it is short and
// harmless in a log line and a header; otherwise we make our own.
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id (nginx's, if it sent a sane one), also set on the response. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The request's id (see requestId). */
    id: string;
    /** The logger for this request: every line carries request_id. */
    log: Logger;
  }
}

/**
 * One log line per write or failure (nginx's access log has every request,
 * with the same id, status and times), and req.log for any other line of
 * the request. The request's child logger is made only when something logs:
 * pino-http made two per request, about 7 % of a worker's CPU on a cached
 * read that logs nothing.
 */
export function httpLogger(app: Express, logger: Logger): RequestHandler {
  const children = new WeakMap<Request, Logger>();
  // On the app's request prototype, so a request pays for it only when it logs.
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: Request) {
      let child = children.get(this);
      if (!child) children.set(this, (child = logger.child({ request_id: this.id })));
      return child;
    },
  });
  return (req, res, next) => {
    req.id = requestId(req, res);
    const started = performance.now();
    const done = () => {
      res.removeListener('finish', done);
      res.removeListener('close', done);
      const status = res.statusCode;
      if (isSafeMethod(req.method) && status < 400 && res.writableFinished) return;
      // Headers carry cookies and bearer tokens: only what helps debugging.
      const line = {
        req: { method: req.method, url: req.originalUrl, remote: req.socket.remoteAddress },
        res: { status },
        responseTime: Math.round(performance.now() - started),
      };
      if (status >= 500) req.log.error(line, 'request completed');
      else if (!res.writableFinished) req.log.warn(line, 'request aborted');
      else req.log.info(line, 'request completed');
    };
    res.on('finish', done);
    res.on('close', done);
    next();
  };
}
