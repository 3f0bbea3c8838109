import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
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

/** One log line per write or failure, and req.log carrying the request id for every other line. */
export function httpLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: requestId,
    // Every line logged through req.log carries request_id, not only the
    // completion line.
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'request_id' },
    // Headers carry cookies and bearer tokens: log only what helps debugging.
    serializers: {
      req: (req: { method: string; url: string; remoteAddress?: string }) => ({
        method: req.method,
        url: req.url,
        remote: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
      // pino-http invents an error for every 5xx; the real one, if any, is
      // logged by the error handler with its stack.
      err: (err: Error) => (err.message.startsWith('failed with status code') ? undefined : pino.stdSerializers.err(err)),
    },
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    // nginx's access log has every request (with this id, status and times);
    // the app adds a line for what it changed, refused or was slow at.
    autoLogging: { ignore: (req) => isSafeMethod(req.method) },
    wrapSerializers: false,
  });
}
