import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, tokenUser, type TestApp, type TokenUser } from './helpers/app';
import {
  BAD_NUMBERS,
  badAuthorization,
  badCookie,
  badCursor,
  badId,
  describeCase,
  fuzzSeed,
  malformedJson,
  oddString,
  perturb,
  pooled,
  Rng,
  send,
  verdict,
  WRONG_TYPES,
  type Case,
  type Method,
} from './helpers/fuzz';

type BodyKind = 'credentials' | 'token' | 'me' | 'todo' | 'patch';
type Route = { method: Method; path: string; body?: BodyKind; anonymous?: boolean };
type Ctx = { r: Rng; user: TokenUser; todoIds: string[] };

// Every route of SPEC §2 for accounts, sessions, tokens, me and todos.
const ROUTES: Route[] = [
  { method: 'post', path: '/api/users', body: 'credentials', anonymous: true },
  { method: 'post', path: '/api/session', body: 'credentials', anonymous: true },
  { method: 'get', path: '/api/session' },
  { method: 'delete', path: '/api/session' },
  { method: 'post', path: '/api/tokens', body: 'token' },
  { method: 'get', path: '/api/tokens' },
  { method: 'delete', path: '/api/tokens/:id' },
  { method: 'get', path: '/api/me' },
  { method: 'patch', path: '/api/me', body: 'me' },
  { method: 'get', path: '/api/todos' },
  { method: 'post', path: '/api/todos', body: 'todo' },
  { method: 'get', path: '/api/todos/:id' },
  { method: 'patch', path: '/api/todos/:id', body: 'patch' },
  { method: 'put', path: '/api/todos/:id/finish' },
  { method: 'delete', path: '/api/todos/:id' },
];
const WITH_BODY = ROUTES.filter((x) => x.body);
const WITH_ID = ROUTES.filter((x) => x.path.includes(':id'));
const TOTAL = 2_400;
const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** Raw JSON texts of a body that would pass validation. */
function validFields(kind: BodyKind, r: Rng): Record<string, string> {
  switch (kind) {
    case 'credentials':
      return { email: `"fuzz-${r.int(1e9)}@example.test"`, password: '"long enough password"' };
    case 'token':
      return { name: '"fuzz"' };
    case 'me':
      return { public_slug: `"fuzz-${r.int(1e9)}"` };
    case 'todo':
      return { content: '"fuzz todo"' };
    case 'patch':
      return { content: '"fuzz edit"', is_finished: 'true' };
  }
}
const json = (f: Record<string, string>) =>
  `{${Object.entries(f)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
const percent = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** A well-formed request to the route, authenticated the way its callers usually are. */
function start(ctx: Ctx, route: Route, kind: string): Case {
  const { r, user } = ctx;
  const id = route.path.startsWith('/api/todos/') ? r.pick(ctx.todoIds) : r.uuid();
  const headers: Record<string, string> = {};
  const logOut = route.method === 'delete' && route.path === '/api/session';
  const roll = r.next();
  if (route.anonymous) {
    /* sign-up and log-in take no credentials */
  } else if (roll < 0.6) headers.Authorization = user.auth;
  else if (roll < 0.9) Object.assign(headers, { Cookie: user.cookie }, logOut ? {} : { 'X-CSRF-Token': user.csrf });
  else if (roll < 0.95) headers.Cookie = user.cookie;
  return { kind, route: `${route.method.toUpperCase()} ${route.path}`, method: route.method, path: route.path.replace(':id', id), headers };
}
const withBody = (c: Case, body: string | Buffer, type?: string): Case => ({
  ...c,
  body,
  headers: type === undefined ? c.headers : { ...c.headers, 'Content-Type': type },
});

function fieldCase(ctx: Ctx, kind: string, value: () => string): Case {
  const route = ctx.r.pick(WITH_BODY);
  const f = validFields(route.body!, ctx.r);
  f[ctx.r.pick(Object.keys(f))] = value();
  if (ctx.r.chance(0.15)) f[ctx.r.pick(['extra', '__proto__', 'constructor', 'id', 'user_id'])] = ctx.r.pick(WRONG_TYPES);
  return withBody(start(ctx, route, kind), json(f), JSON_TYPE);
}

const GENERATORS: ((ctx: Ctx) => Case)[] = [
  (ctx) => fieldCase(ctx, 'wrong-type', () => ctx.r.pick(WRONG_TYPES)),
  (ctx) => fieldCase(ctx, 'odd-string', () => JSON.stringify(oddString(ctx.r))),
  ({ r, ...rest }) => {
    const route = r.pick(WITH_BODY);
    const c = start({ r, ...rest }, route, 'malformed-json');
    const valid = json(validFields(route.body!, r));
    if (r.chance(0.15))
      return withBody(c, Buffer.concat([Buffer.from(valid.slice(0, -2)), r.bytes(r.int(8) + 1), Buffer.from('"}')]), JSON_TYPE);
    return withBody(c, malformedJson(r, valid), r.pick([JSON_TYPE, `${JSON_TYPE}; charset=utf-8`, 'application/merge-patch+json']));
  },
  ({ r, ...rest }) => {
    const c = start({ r, ...rest }, r.pick(WITH_BODY), 'oversized');
    const n = 16_385 + r.int(60_000);
    return r.pick([
      () => withBody(c, json({ content: JSON.stringify('a'.repeat(n)) }), JSON_TYPE),
      () => withBody(c, `${' '.repeat(n)}{}`, JSON_TYPE),
      () => withBody(c, `content=${'a'.repeat(n)}`, FORM_TYPE),
      () => withBody(c, 'x'.repeat(n), 'text/plain'),
      () => withBody(c, r.bytes(n)),
    ])();
  },
  ({ r, ...rest }) => {
    const route = r.pick(WITH_BODY);
    const c = start({ r, ...rest }, route, 'content-type');
    const body = json(validFields(route.body!, r));
    if (r.chance(0.15)) return withBody(c, Buffer.from(body));
    if (r.chance(0.2)) {
      const encoded = {
        ...c,
        headers: { ...c.headers, 'Content-Encoding': r.pick(['gzip', 'deflate', 'br', 'x-compress', 'gzip, gzip', 'identity, br']) },
      };
      return withBody(encoded, body, JSON_TYPE);
    }
    return withBody(
      c,
      body,
      r.pick([
        'text/plain',
        'application/xml',
        'multipart/form-data',
        'multipart/form-data; boundary=x',
        `${JSON_TYPE}; charset=latin1`,
        `${JSON_TYPE}; charset=utf-16`,
        `${JSON_TYPE}; charset=utf-32`,
        `${JSON_TYPE}; charset=bogus`,
        'application/jsonx',
        '*/*',
        'application/',
        'json',
        ';;;',
        `${JSON_TYPE};;`,
        `${JSON_TYPE}; charset=`,
        'text/html; charset=utf-8',
        FORM_TYPE,
        'application/octet-stream',
        'APPLICATION/JSON',
        `${JSON_TYPE} ; charset = "utf-8"`,
        'image/png',
        `${FORM_TYPE}; charset=utf-16`,
      ]),
    );
  },
  ({ r, ...rest }) => {
    const c = start({ r, ...rest }, r.pick(WITH_BODY), 'form');
    const form = r.pick([
      'is_finished=yes&content=x',
      'content=a&content=b',
      Array.from({ length: 60 }, (_, i) => `f${i}=1`).join('&'),
      'content=%ff%fe',
      'content=%00',
      'content=%ud800',
      '=&=&',
      'a[b]=1&content[]=x',
      '%%%',
      '',
      'email=a%40b.co&password=%00%00%00%00%00%00%00%00',
      `content=${percent(oddString(r))}`,
      `name=${percent(oddString(r))}`,
      `public_slug=${percent(oddString(r))}`,
      'public_slug=',
      `email=${percent(oddString(r))}&password=${percent(oddString(r))}`,
      'is_finished=true',
      '__proto__=x&constructor=y',
    ]);
    return withBody(c, form, FORM_TYPE);
  },
  ({ r, ...rest }) => {
    const onTodos = r.chance(0.85);
    const route = onTodos
      ? ROUTES.find((x) => x.path === '/api/todos' && x.method === 'get')!
      : r.pick(ROUTES.filter((x) => x.method === 'get'));
    const c = start({ r, ...rest }, route, 'query');
    const params = Array.from({ length: r.int(3) + 1 }, () =>
      r.pick([
        () => `limit=${r.pick(BAD_NUMBERS)}`,
        () => `start=${r.pick(BAD_NUMBERS)}`,
        () => `cursor=${badCursor(r)}`,
        () => `is_finished=${r.pick(['TRUE', '1', 'yes', '', '%ff', 'null', 'true&is_finished=false'])}`,
        () => 'limit=1&limit=2',
        () => 'start=1&start=2',
        () => `start=10&cursor=${badCursor(r)}`,
        () => 'limit[]=1',
        () => 'limit[a]=1',
        () => '__proto__=1',
        () => '&&&',
        () => '=',
        () => 'limit',
        () => `limit=${'9'.repeat(500)}`,
      ])(),
    );
    return { ...c, method: r.chance(0.1) ? 'head' : 'get', path: `${c.path}?${params.join('&')}` };
  },
  (ctx) => {
    const route = ctx.r.pick(WITH_ID);
    const c = start(ctx, route, 'bad-id');
    const req = { ...c, path: route.path.replace(':id', badId(ctx.r, ctx.todoIds)) };
    return route.body ? withBody(req, json(validFields(route.body, ctx.r)), JSON_TYPE) : req;
  },
  (ctx) => {
    const c = start(
      ctx,
      ROUTES.find((x) => x.path === '/api/todos')!,
      'cursor',
    );
    const extra = ctx.r.pick(['', '&limit=5', '&is_finished=true', '&limit=100&is_finished=false']);
    return { ...c, path: `/api/todos?cursor=${badCursor(ctx.r)}${extra}` };
  },
  ({ r, user, todoIds }) => {
    const c = start(
      { r, user, todoIds },
      ROUTES.find((x) => x.method === 'post' && x.path === '/api/todos')!,
      'idempotency-key',
    );
    const key = r.pick([
      '',
      ' ',
      'a'.repeat(201),
      'k\xe9y',
      'a b',
      '\t',
      'key,key',
      `fuzz-${r.int(4)}`,
      '\xff'.repeat(10),
      'x'.repeat(5000),
    ]);
    return withBody({ ...c, headers: { ...c.headers, 'Idempotency-Key': key } }, json({ content: `"fuzz ${r.int(3)}"` }), JSON_TYPE);
  },
  ({ r, user, todoIds }) => {
    const route = r.pick(ROUTES);
    const c = start({ r, user, todoIds }, route, 'authorization');
    const headers = { ...c.headers, Authorization: badAuthorization(r, user.token) };
    return route.body ? withBody({ ...c, headers }, json(validFields(route.body, r)), JSON_TYPE) : { ...c, headers };
  },
  ({ r, user, todoIds }) => {
    const route = r.pick(ROUTES.filter((x) => !x.anonymous));
    const c = start({ r, user, todoIds }, route, 'cookie');
    const csrf = r.pick([
      '',
      'wrong',
      `${user.csrf}x`,
      user.csrf.slice(1),
      user.csrf.toUpperCase(),
      '\xe9',
      'x'.repeat(5000),
      `${user.csrf},${user.csrf}`,
    ]);
    const headers = r.chance(0.5) ? { Cookie: badCookie(r), 'X-CSRF-Token': user.csrf } : { Cookie: user.cookie, 'X-CSRF-Token': csrf };
    return route.body ? withBody({ ...c, headers }, json(validFields(route.body, r)), JSON_TYPE) : { ...c, headers };
  },
  (ctx) => {
    const c = start(ctx, ctx.r.pick(ROUTES), 'method');
    const path = ctx.r.pick([
      c.path,
      '/api',
      '/api/',
      '/api//todos',
      '/API/TODOS',
      '/api/todos/',
      `/api/todos/${ctx.r.pick(ctx.todoIds)}/x`,
      '/api/todos;x',
      '/api/%2e%2e/health',
    ]);
    return { ...c, path, method: ctx.r.pick(['put', 'patch', 'post', 'delete', 'head', 'options'] as const) };
  },
];

describe('fuzzing every route with bad requests', () => {
  let t: TestApp;
  let user: TokenUser;
  const todoIds: string[] = [];
  before(async () => {
    t = await startApp({ PASSWORD_SCRYPT_LOG_N: '10' }); // sign-ups that pass validation stay cheap
    user = await tokenUser(t, 'fuzz');
    for (let i = 0; i < 5; i++)
      todoIds.push(
        (
          await t
            .http()
            .post('/api/todos')
            .set('Authorization', user.auth)
            .send({ content: `seed ${i}` })
            .expect(201)
        ).body.id,
      );
  });
  after(() => t.close());

  it('when thousands of generated bad requests hit every route, then none is a 5xx and every 4xx is a problem with a request id', async (tc) => {
    const seed = fuzzSeed();
    tc.diagnostic(`FUZZ_SEED=${seed} (set it to replay this run)`);
    const r = new Rng(seed);
    const cases = Array.from({ length: TOTAL }, (_, i) => perturb(r, GENERATORS[i % GENERATORS.length]!({ r, user, todoIds })));
    // Failures grouped by kind and symptom, one example each, so a report names each bug once.
    const failures = new Map<string, { count: number; example: string }>();
    const fail = (c: Case, why: string) => {
      const key = `[${c.kind}] ${why.replace(/"request_id":"[^"]*"/, '').slice(0, 90)}`;
      const seen = failures.get(key) ?? { count: 0, example: `${describeCase(c)}\n    -> ${why.slice(0, 400)}` };
      failures.set(key, { ...seen, count: seen.count + 1 });
    };
    const statuses = new Map<number, number>();
    const started = Date.now();
    await pooled(cases, 8, async (c) => {
      const res = await send(t, c).catch((err: Error) => err);
      if (res instanceof Error) return fail(c, `request failed: ${res.message}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const wrong = verdict(c, res);
      if (wrong) fail(c, wrong);
    });
    tc.diagnostic(
      `${cases.length} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );

    assert.ok(cases.length >= 2_000);
    assert.deepEqual(
      ROUTES.map((x) => `${x.method.toUpperCase()} ${x.path}`).filter((x) => !cases.some((c) => c.route === x)),
      [],
      'routes never fuzzed',
    );
    assert.deepEqual(
      [400, 401, 403, 404, 413, 415, 422].filter((s) => !statuses.has(s)),
      [],
      'error kinds the fuzz never reached',
    );
    const report = [...failures.values()].map((f) => `${f.count} x ${f.example}`).join('\n');
    const total = [...failures.values()].reduce((n, f) => n + f.count, 0);
    assert.equal(total, 0, `${total} bad responses in ${failures.size} groups (FUZZ_SEED=${seed}):\n${report}`);
  });

  it('when the fuzzing is over, then the server is still healthy and serves a normal user', async () => {
    assert.deepEqual((await t.http().get('/health').expect(200)).body, { ok: true });
    assert.deepEqual((await t.http().get('/health/ready').expect(200)).body, { ok: true, postgres: 'up', redis: 'up' });
    await t.http().get('/api/me').set('Authorization', user.auth).expect(200);
    const fresh = await tokenUser(t, 'after-fuzz');
    const created = await t.http().post('/api/todos').set('Authorization', fresh.auth).send({ content: 'still works' }).expect(201);
    const list = await t.http().get('/api/todos').set('Authorization', fresh.auth).expect(200);
    assert.deepEqual(
      list.body.data.map((x: { id: string }) => x.id),
      [created.body.id],
    );
    // No connection may stay checked out of the pool after the fuzz.
    const deadline = Date.now() + 2_000;
    while (t.deps.db.totalCount !== t.deps.db.idleCount && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(t.deps.db.totalCount - t.deps.db.idleCount, 0, 'database connections still checked out');
    assert.equal(t.deps.db.waitingCount, 0);
  });
});
