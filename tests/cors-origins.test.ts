import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseCorsOrigins } from '../scripts/cors-origins';

const LIB = path.join(__dirname, '..', 'scripts', 'lib.sh');

describe('CORS_ORIGINS, checked before nginx is rendered (scripts/cors-origins.js)', () => {
  it('when origins are written as browsers send them, then each is listed once; empty lists none', () => {
    assert.deepEqual(parseCorsOrigins(''), []);
    assert.deepEqual(parseCorsOrigins(' , '), []);
    assert.deepEqual(parseCorsOrigins('https://app.example.com'), ['https://app.example.com']);
    assert.deepEqual(parseCorsOrigins('https://app.example.com, http://127.0.0.1:5173,http://[::1]:8080,https://app.example.com,'), [
      'https://app.example.com',
      'http://127.0.0.1:5173',
      'http://[::1]:8080',
    ]);
  });

  it('when an entry is not an origin as a browser sends it, then it is refused, naming it and, where there is one, the form that would match', () => {
    const cases: Array<[string, RegExp]> = [
      ['https://app.example.com/', /as a browser sends it: https:\/\/app\.example\.com\)/],
      ['https://App.Example.com', /as a browser sends it: https:\/\/app\.example\.com\)/],
      ['https://app.example.com:443', /as a browser sends it: https:\/\/app\.example\.com\)/],
      ['https://app.example.com/path', /as a browser sends it/],
      ['https://user@app.example.com', /as a browser sends it/],
      ['https://bücher.example', /as a browser sends it: https:\/\/xn--bcher-kva\.example\)/],
      ['*', /"\*" is not an origin;/],
      ['null', /"null" is not an origin;/],
      ['app.example.com', /is not an origin/],
      ['ftp://files.example.com', /is not an origin/],
      // Nothing that could end a string or a directive in nginx's config.
      ['https://a;b.example', /is not an origin/],
      ['https://a"b.example', /is not an origin/],
      ['https://a}b.example', /is not an origin/],
      ['https://a$b.example', /is not an origin/],
    ];
    for (const [entry, message] of cases) {
      assert.throws(
        () => parseCorsOrigins(`https://ok.example.com,${entry}`),
        (err: Error) => err.message.startsWith('CORS_ORIGINS: ') && err.message.includes(`"${entry}"`) && message.test(err.message),
        entry,
      );
    }
  });

  it('when the run command meets a malformed CORS_ORIGINS, then it stops with that message before rendering anything', async () => {
    const result = await promisify(execFile)('bash', ['-c', `source "${LIB}" && cors_map && echo rendered`], {
      env: { ...process.env, CORS_ORIGINS: 'https://app.example.com/' },
    }).then(
      () => assert.fail('cors_map accepted a path'),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stdout, /rendered/);
    assert.match(result.stderr, /error: CORS_ORIGINS: "https:\/\/app\.example\.com\/" is not an origin/);
    const ok = await promisify(execFile)('bash', ['-c', `source "${LIB}" && cors_map`], {
      env: { ...process.env, CORS_ORIGINS: 'https://app.example.com,http://127.0.0.1:5173' },
    });
    assert.equal(ok.stdout, '"https://app.example.com" 1; "http://127.0.0.1:5173" 1;');
  });
});

describe("CORS in nginx's files", () => {
  const read = (f: string) => readFile(path.join(__dirname, '..', 'nginx', f), 'utf8');

  /** Each `location … { … }` block of a file: its own lines, without those of the locations inside it. */
  function locations(file: string): Array<{ name: string; body: string }> {
    // Comments out, and the run command's {{TOKENS}} as @TOKENS@, so braces are blocks only.
    const text = file.replace(/#.*$/gm, '').replace(/\{\{(\w+)\}\}/g, '@$1@');
    const found: Array<{ name: string; body: string }> = [];
    const start = /location\s+([^{]+)\{/g;
    for (let m = start.exec(text); m; m = start.exec(text)) {
      let depth = 1;
      let body = '';
      for (let i = start.lastIndex; depth > 0 && i < text.length; i++) {
        depth += text[i] === '{' ? 1 : text[i] === '}' ? -1 : 0;
        if (depth === 1 && text[i] !== '}') body += text[i];
      }
      found.push({ name: m[1]!.trim(), body });
    }
    return found;
  }

  it('when a location serves the API, then it answers preflights and adds the headers (add_header is not inherited into it)', async () => {
    const api = locations(await read('sites/todo-stack.conf')).filter((l) => /^(=\s*)?\/api/.test(l.name));
    assert.ok(api.length >= 5, api.map((l) => l.name).join(', '));
    for (const l of api) assert.match(l.body, /include @CONF_DIR@\/snippets\/cors\.conf;/, l.name);
  });

  it('when nginx answers an error itself, then the problem carries the headers too', async () => {
    const pages = locations(await read('snippets/problems.conf'));
    assert.ok(pages.length >= 5);
    for (const l of pages) assert.match(l.body, /include @CONF_DIR@\/snippets\/cors-headers\.conf;/, l.name);
  });

  it('when nginx renders the list, then it comes from CORS_ORIGINS alone, and no answer can allow credentials', async () => {
    assert.match(
      await read('snippets/cors-origins.conf'),
      /map \$http_origin \$cors_listed \{\n\s+default 0;\n\s+\{\{CORS_ORIGINS\}\}\n\}/,
    );
    for (const f of ['snippets/cors-origins.conf', 'snippets/cors-headers.conf', 'snippets/cors.conf', 'sites/todo-stack.conf']) {
      assert.doesNotMatch(await read(f), /add_header\s+Access-Control-Allow-Credentials/i, f);
    }
  });
});
