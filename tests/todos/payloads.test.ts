import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp } from '../helpers/app';
import { assertTodo, countTodos, getPage, startTodosApp } from '../helpers/todos';

// Strings that break code which builds SQL or HTML by concatenation, or that
// mangles Unicode. None has surrounding whitespace, so each must come back
// exactly as sent.
const PAYLOADS: Record<string, string> = {
  'SQL injection': "'); DROP TABLE todos; --",
  'SQL tautology': "' OR '1'='1' --",
  'SQL comment and semicolon': 'x"; DELETE FROM users WHERE ""="; /* */',
  'script tag': '<script>alert(1)</script>',
  'img onerror': '<img src=x onerror=alert(1)>',
  'attribute breakout': '"><svg onload=alert(1)>',
  'HTML entities': '&lt;b&gt; &amp; &#x27; &quot;',
  quotes: `single ' double " back \` typographic \u2018\u2019\u201c\u201d`,
  backslashes: 'C:\\Users\\x\\n is not a newline \\\\ \\u0041 \\x00',
  'percent and plus': '100% + 5%20 & a=b; c+d',
  'JSON lookalike': '{"content":"nested","is_finished":true}',
  'emoji with ZWJ and skin tone': '\u{1F469}\u{1F3FD}\u200D\u{1F4BB} \u{1F1FA}\u{1F1F8} \u{1F600}',
  'combining characters': 'e\u0301 n\u0303 a\u030A\u0328 Z\u0351\u0308\u0334',
  'decomposed vs composed': '\u00e9 e\u0301',
  'RTL text': '\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202Eabc\u202C',
  'inner newlines and tabs': 'line 1\nline 2\r\n\tindented',
  'zero width and BOM inside': 'a\u200Bb\uFEFFc',
  'non-BMP CJK and math': '\u{20BB7}\u{1D400}\u{1D7D8} \u6F22\u5B57',
};

describe('todos: hostile and unusual content round-trips byte-exact', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  for (const via of ['json', 'form'] as const) {
    it(`when SQL, HTML and Unicode payloads are posted as ${via}, then POST, GET and the list return them exactly`, async () => {
      const u = await tokenUser(t);
      const ids: Record<string, string> = {};
      for (const [name, content] of Object.entries(PAYLOADS)) {
        const req = t.http().post('/api/todos').set('Authorization', u.auth);
        const res = via === 'json' ? await req.send({ content }) : await req.type('form').send(new URLSearchParams({ content }).toString());
        assert.equal(res.status, 201, `${name}: ${res.text}`);
        const todo = assertTodo(res.body);
        assert.equal(todo.content, content, `${name} changed on POST`);
        ids[name] = todo.id;

        const read = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200);
        assert.equal(read.body.content, content, `${name} changed on GET`);
        assert.ok(Buffer.from(read.body.content, 'utf8').equals(Buffer.from(content, 'utf8')), `${name} bytes differ`);
        // The JSON encoder must not have been bypassed: the raw body parses to the same string.
        assert.equal(JSON.parse(read.text).content, content);
        assert.equal(read.headers['content-type'], 'application/json; charset=utf-8', 'never served as HTML');
      }
      const list = await getPage(t, u, { limit: '100' });
      const byId = new Map(list.data.map((x) => [x.id, x.content]));
      for (const [name, content] of Object.entries(PAYLOADS)) assert.equal(byId.get(ids[name]!), content, `${name} changed in the list`);
      assert.equal(await countTodos(t, u.id), Object.keys(PAYLOADS).length);
      const { rows } = await t.deps.db.query<{ ok: boolean }>("SELECT to_regclass('public.todos') IS NOT NULL AS ok");
      assert.equal(rows[0]!.ok, true, 'the todos table survived');
    });
  }

  it('when a payload is patched in as new content, then it also round-trips exactly', async () => {
    const u = await tokenUser(t);
    const created = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'plain' }).expect(201);
    for (const [name, content] of Object.entries(PAYLOADS)) {
      const res = await t.http().patch(`/api/todos/${created.body.id}`).set('Authorization', u.auth).send({ content }).expect(200);
      assert.equal(res.body.content, content, `${name} changed on PATCH`);
      const read = await t.http().get(`/api/todos/${created.body.id}`).set('Authorization', u.auth).expect(200);
      assert.equal(read.body.content, content, `${name} changed on GET after PATCH`);
    }
  });

  it('when content contains payloads with surrounding whitespace, then only the surrounding whitespace is removed', async () => {
    const u = await tokenUser(t);
    const content = "  \n<script>alert('x')</script> \u05e9\u05dc\u05d5\u05dd e\u0301 \t";
    const res = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content }).expect(201);
    assert.equal(res.body.content, "<script>alert('x')</script> \u05e9\u05dc\u05d5\u05dd e\u0301");
  });
});
