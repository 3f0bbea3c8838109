import contract from './nginx-contract.json';

/**
 * What the app and nginx must agree on, from one file: the run command
 * renders these into nginx's config (scripts/lib.sh, render_nginx) and
 * ecosystem.config.js reads the drain timings, so none of them is kept
 * equal by a comment.
 *
 * - bodyLimitBytes: the largest request body, for nginx's
 *   client_max_body_size and the app's body parsers.
 * - importLimitBytes: the same for POST /api/todos/import, the one route
 *   that takes a file.
 * - batchLimitBytes: the same for POST /api/todos/batch: 100 operations of
 *   up to 1000 characters each, each character up to 4 bytes of UTF-8,
 *   with room for the rest of each operation.
 * - tokenPattern: an API token's grammar (without "Bearer "), for the app's
 *   parser and nginx's private cache key (nginx/edge-credential.js).
 * - privateCopyInactiveSeconds: nginx's inactive= for per-token copies of
 *   first pages; the app keeps its list of copies at least this long.
 * - upstreamKeepaliveSeconds: how long nginx keeps an idle upstream socket.
 *   A stopping worker keeps listening for shutdownDelayMs, longer than
 *   that, so nginx never reuses a socket the worker is closing; then
 *   in-flight requests get drainTimeoutMs, and PM2's killTimeoutMs is
 *   longer than both together, so the worker exits on its own terms.
 */
export const nginxContract: Readonly<typeof contract> = Object.freeze(contract);

/** An Authorization header value carrying an API token, with the token as group 1. */
export const BEARER_TOKEN = new RegExp(`^Bearer (${contract.tokenPattern})$`);
