import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countLines, importFormat, parseImport } from '../../app/todos/import-parse';
import { parsed } from '../helpers/import';

const ID_A = '0b8f5a52-3c1e-4d0a-9a57-1f2e3d4c5b6a';
const ID_B = '7d2c9e10-5a4b-4c3d-8e2f-0a1b2c3d4e5f';
const T1 = '2025-03-01T10:00:00.000Z';
const T2 = '2025-03-02T11:30:00.250Z';

const exportLine = (o: Record<string, unknown>) => JSON.stringify(o);

const HEADER = 'id,content,is_finished,created_at,updated_at,finished_at';

describe('import parsing: NDJSON', () => {
  it("when lines are the export's, then each is a todo with its id, content, state and times, and updated_at and unknown fields are ignored", () => {
    const upload = [
      exportLine({ id: ID_A, content: 'pay rent', is_finished: true, created_at: T1, updated_at: T2, finished_at: T2 }),
      exportLine({
        id: ID_B.toUpperCase(),
        content: '  water the plants  ',
        is_finished: false,
        created_at: T2,
        finished_at: null,
        colour: 'red',
      }),
    ].join('\n');
    assert.deepEqual(parsed(upload, 'ndjson'), [
      { line: 1, content: 'pay rent', is_finished: true, created_at: T1, finished_at: T2, id: ID_A },
      { line: 2, content: 'water the plants', is_finished: false, created_at: T2, finished_at: null, id: ID_B },
    ]);
  });

  it('when only content is given, then the todo is open with no id or times (the insert dates it)', () => {
    assert.deepEqual(parsed('{"content":"just this"}', 'ndjson'), [
      { line: 1, content: 'just this', is_finished: false, created_at: null, finished_at: null, id: null },
    ]);
  });

  it('when a time has an offset, then it is read as that instant', () => {
    const [todo] = parsed(exportLine({ content: 'x', created_at: '2025-03-01T12:00:00+02:00' }), 'ndjson') as { created_at: string }[];
    assert.equal(todo!.created_at, T1);
  });

  it('when there are blank lines, CRLF endings and a BOM, then blank lines yield nothing and the others keep their physical line numbers', () => {
    const upload = '\ufeff{"content":"one"}\r\n\r\n   \r\n{"content":"four"}\r\n\n{"content":"six"}';
    assert.deepEqual(
      (parsed(upload, 'ndjson') as { line: number; content: string }[]).map((r) => [r.line, r.content]),
      [
        [1, 'one'],
        [4, 'four'],
        [6, 'six'],
      ],
    );
  });

  it('when lines are bad, then each says which field failed and what was expected, and the good lines around them still parse', () => {
    const upload = [
      '{"content":"good"}',
      '{content: "no quotes"}',
      '["an", "array"]',
      '{"content":"   "}',
      `{"content":"${'x'.repeat(1001)}"}`,
      '{"is_finished":true}',
      '{"content":"a","is_finished":"yes"}',
      `{"content":"a","finished_at":"${T1}"}`,
      `{"content":"a","is_finished":false,"finished_at":"${T1}"}`,
      '{"content":"a","created_at":"2025-03-01 10:00"}',
      '{"content":"a","created_at":"0000-06-01T00:00:00Z"}',
      '{"content":"a","id":"not-a-uuid"}',
      '{"content":"nul \\u0000 inside"}',
      '{"content":"also good","is_finished":true}',
    ].join('\n');
    const records = parsed(upload, 'ndjson') as { line: number; errors?: string[]; content?: string }[];
    assert.deepEqual(
      records.map((r) => r.line),
      Array.from({ length: 14 }, (_, i) => i + 1),
    );
    assert.equal(records[0]!.content, 'good');
    assert.equal(records[13]!.content, 'also good');
    const errors = records.slice(1, 13).map((r) => r.errors);
    const expected: [RegExp, ...RegExp[]][] = [
      [/^is not valid JSON \(.+\): expected one JSON object per line/],
      [/^is not a JSON object: expected one JSON object per line/],
      [/^content: must not be empty or only whitespace \(expected a string of 1 to 1000 characters/],
      [/^content: must be at most 1000 characters \(expected a string of 1 to 1000 characters/],
      [/^content: is missing \(expected a string of 1 to 1000 characters/],
      [/^is_finished: .*expected boolean.* \(expected true or false\)$/],
      [/^finished_at: is set, but is_finished is not true/],
      [/^finished_at: is set, but is_finished is not true/],
      [/^created_at: .+ \(expected an ISO 8601 time with its offset, e\.g\. 2025-01-31T09:30:00\.000Z\)$/],
      [/^created_at: must be in the years 1 to 9999/],
      [/^id: .+ \(expected a UUID/],
      [/^content: must not contain NUL characters/],
    ];
    errors.forEach((e, i) => {
      assert.ok(e, `line ${i + 2} should be an error`);
      assert.equal(e.length, expected[i]!.length, `line ${i + 2}: ${e.join(' | ')}`);
      e.forEach((message, k) => assert.match(message, expected[i]![k]!, `line ${i + 2}`));
    });
  });

  it('when a line is not UTF-8, then that line is an error and the next ones parse', () => {
    const upload = Buffer.concat([Buffer.from('{"content":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"content":"ok"}\n')]);
    assert.deepEqual(parsed(upload, 'ndjson'), [
      { line: 1, errors: ['is not UTF-8 text'] },
      { line: 2, content: 'ok', is_finished: false, created_at: null, finished_at: null, id: null },
    ]);
  });

  it('when the same upload is parsed twice, then the records and their keys are the same', () => {
    const upload = Buffer.from(`{"content":"a"}\n\n{"content":"b","created_at":"${T1}"}\n{"id":"${ID_A}","content":"c"}\n{"x":1}\n`);
    const keysOf = () => [...parseImport(upload, 'ndjson')].map((r) => ('todo' in r ? r.todo.key.toString('hex') : r.errors.join()));
    assert.deepEqual([...parseImport(upload, 'ndjson')], [...parseImport(upload, 'ndjson')]);
    assert.deepEqual(keysOf(), keysOf());
  });

  it('when two files hold the same line, then it has the same key if it names an id or a created_at, and another key if it names neither', () => {
    const keyOf = (upload: string, line: number) => {
      const record = [...parseImport(Buffer.from(upload), 'ndjson')].find((r) => r.line === line);
      assert.ok(record && 'todo' in record);
      return record.todo.key.toString('hex');
    };
    const withId = `{"id":"${ID_A}","content":"a"}`;
    const dated = `{"content":"b","created_at":"${T1}"}`;
    const bare = '{"content":"c"}';
    const first = [withId, dated, bare].join('\n');
    const second = ['{"content":"other"}', withId.replace('"a"', '"a, edited"'), dated, bare].join('\n');
    assert.equal(keyOf(first, 1), keyOf(second, 2), 'an id names the same todo, whatever its content now');
    assert.equal(keyOf(first, 2), keyOf(second, 3), 'content and created_at name the same todo');
    assert.notEqual(keyOf(first, 3), keyOf(second, 4), 'an undated line in another file is another todo');
    assert.notEqual(keyOf(first + '\n' + bare, 3), keyOf(first + '\n' + bare, 4), 'two undated lines of one file are two todos');
  });
});

describe('import parsing: the format and the line count', () => {
  const ndjson = Buffer.from('{"content":"a"}\n');
  const csv = Buffer.from(`${HEADER}\n,a,false,,,\n`);
  const todoist = Buffer.from('TYPE,CONTENT,DESCRIPTION,PRIORITY\ntask,a,,4\n');

  it('when the Content-Type names a format, then that is the format, parameters and case aside', () => {
    for (const type of ['application/x-ndjson', 'application/jsonl', 'application/json; charset=utf-8', 'Application/X-NDJSON']) {
      assert.equal(importFormat(type, csv), 'ndjson', type);
    }
    for (const type of ['text/csv', 'text/csv; charset=UTF-8', 'application/vnd.ms-excel', 'application/csv']) {
      assert.equal(importFormat(type, ndjson), 'csv', type);
    }
  });

  it('when the Content-Type is generic or missing, then the first non-blank line decides, and an unknown one is no format', () => {
    for (const type of [undefined, '', 'text/plain', 'application/octet-stream']) {
      assert.equal(importFormat(type, ndjson), 'ndjson', String(type));
      assert.equal(importFormat(type, Buffer.from(`\ufeff\r\n  \n${HEADER}\r\n`)), 'csv', String(type));
      assert.equal(importFormat(type, todoist), 'csv', String(type));
      assert.equal(importFormat(type, Buffer.from('"content"\n"a"\n')), 'csv', String(type));
      assert.equal(importFormat(type, Buffer.from('hello world\n')), undefined, String(type));
      assert.equal(importFormat(type, Buffer.from('\n\n')), undefined, String(type));
    }
  });

  it('when the Content-Type names another format, then it is no format, whatever the content', () => {
    assert.equal(importFormat('image/png', csv), undefined);
    assert.equal(importFormat('text/html', ndjson), undefined);
  });

  it('when NDJSON is counted, then blank lines are not, and the count is the number of records parsed', () => {
    const upload = Buffer.from('\ufeff{"content":"a"}\r\n\r\n \t\n{"bad"\n{"content":"c"}');
    assert.equal(countLines(upload, 'ndjson'), 3);
    assert.equal([...parseImport(upload, 'ndjson')].length, 3);
    assert.equal(countLines(Buffer.from(''), 'ndjson'), 0);
  });

  it('when a CSV is counted, then the header, blank rows and line breaks inside quoted cells are not, and the count is the number of records parsed', () => {
    const upload = Buffer.from(
      [
        HEADER,
        ',"a ""quoted"" cell\r\nover, two lines",false,,,',
        '',
        ',,,,,',
        ',"""",false,,,',
        ',"x""\ny",false,,,',
        ',plain,false,,,',
      ].join('\r\n'),
    );
    assert.equal(countLines(upload, 'csv'), 4);
    assert.equal([...parseImport(upload, 'csv')].length, 4);
    assert.equal(countLines(Buffer.from(HEADER), 'csv'), 0);
    assert.equal(countLines(Buffer.from(''), 'csv'), 0);
  });
});
