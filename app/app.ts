import express, { type RequestHandler } from 'express';
import { accountsRouter } from './accounts/routes';
import { authenticate, refuseBadCredentials, sameOriginOnly } from './accounts/auth';
import type { Deps } from './deps';
import { notFoundHandler, problemHandler, unsupportedMediaType } from './errors';
import { healthRouter } from './health';
import { healthDetailsRouter } from './health-details';
import { jobsRouter } from './jobs/routes';
import { httpLogger } from './log';
import { publicPagesRouter } from './public-pages/routes';
import { accountLimits, generalLimit } from './rate-limits';
import { timeRequests } from './metrics';
import { metricsRouter } from './metrics-merge';
import { securityHeaders } from './security-headers';
import { nginxContract } from './nginx-contract';
import { BATCH_PATH } from './todos/batch';
import { IMPORT_PATH, privateCopies, todosRouter } from './todos/routes';

const BODY_LIMIT = nginxContract.bodyLimitBytes;
const BODY_TYPES = ['application/json', 'application/*+json', 'application/x-www-form-urlencoded'];

// The routes that take more than the small limit, a file and a batch, read
// their bodies themselves, after authentication (app/todos/routes.ts); the
// small-body parsers leave them alone.
const OWN_BODIES = new Set([IMPORT_PATH, BATCH_PATH]);
const exceptOwnBodies =
  (handler: RequestHandler): RequestHandler =>
  (req, res, next) =>
    OWN_BODIES.has(req.path) ? next() : handler(req, res, next);

// A body the parsers did not recognise would otherwise look like an empty
// one and fail later with a confusing validation message.
const onlyKnownBodies: RequestHandler = (req, _res, next) => {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is(BODY_TYPES)) {
    throw unsupportedMediaType('Send the body as application/json or application/x-www-form-urlencoded.');
  }
  next();
};

/** The whole HTTP surface; never listens, so tests drive it with supertest. */
export function buildApp(deps: Deps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // ETags are set by the routes that promise them.
  app.set('trust proxy', deps.config.trustProxyHops);
  app.set('query parser', 'simple');

  app.use(httpLogger(app, deps.log));
  // While draining, every response asks the client (nginx) to drop the socket.
  app.use((_req, res, next) => {
    if (deps.lifecycle.shuttingDown) res.set('Connection', 'close');
    next();
  });
  app.use(securityHeaders());
  app.use(timeRequests(app, deps.metrics));
  app.use(healthRouter(deps));

  app.use(exceptOwnBodies(express.json({ limit: BODY_LIMIT, type: BODY_TYPES.slice(0, 2) })));
  app.use(exceptOwnBodies(express.urlencoded({ limit: BODY_LIMIT, extended: false, parameterLimit: 50 })));
  app.use(exceptOwnBodies(onlyKnownBodies));

  app.use(publicPagesRouter(deps));
  // Log-in and sign-up from another site are refused before any limit below
  // counts them, so no page elsewhere can spend an owner's failed log-ins.
  app.post(['/api/session', '/api/users'], sameOriginOnly);
  app.use('/api', authenticate(deps));
  app.use('/api/todos', privateCopies(deps));
  app.use('/api', generalLimit(deps));
  app.use('/api', refuseBadCredentials);
  const limits = accountLimits(deps);
  app.post('/api/session', ...limits.logIn);
  app.post('/api/users', ...limits.signUp);
  app.use('/api', accountsRouter(deps));
  app.use('/api/todos', todosRouter(deps));
  app.use('/api/jobs', jobsRouter(deps));

  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}

/**
 * The endpoints only operators and nginx's internal listener may reach
 * (nginx/sites/internal.conf): served on their own port, never on the one
 * users' requests arrive on.
 */
export function buildInternalApp(deps: Deps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(httpLogger(app, deps.log));
  app.use((_req, res, next) => {
    res.set({ 'Content-Security-Policy': "default-src 'none'; sandbox", 'X-Content-Type-Options': 'nosniff' });
    next();
  });
  app.use(metricsRouter(deps.metrics, deps.redis));
  app.use(healthDetailsRouter(deps));
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}
