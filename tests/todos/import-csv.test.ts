import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsed } from '../helpers/import';

const ID_A = '0b8f5a52-3c1e-4d0a-9a57-1f2e3d4c5b6a';
const ID_B = '7d2c9e10-5a4b-4c3d-8e2f-0a1b2c3d4e5f';
const T1 = '2025-03-01T10:00:00.000Z';
const T2 = '2025-03-02T11:30:00.250Z';

const HEADER = 'id,content,is_finished,created_at,updated_at,finished_at';

describe('import parsing: CSV', () => {
  it("when rows are the export's (CRLF, quoted cells with commas, quotes and line breaks), then each row's todo comes with the line the row starts on", () => {
    const upload = [
      HEADER,
      `${ID_A},"shop: milk, eggs",true,${T1},${T2},${T2}`,
      `${ID_B},"say ""hi""\r\nand then\r\nleave",false,${T2},${T2},`,
      `,plain,FALSE,,,`,
      `,"two\nlines (LF inside CRLF)",TRUE,${T1},,`,
      `,last,false,,,`,
    ].join('\r\n');
    assert.deepEqual(parsed(upload, 'csv'), [
      { line: 2, content: 'shop: milk, eggs', is_finished: true, created_at: T1, finished_at: T2, id: ID_A },
      { line: 3, content: 'say "hi"\r\nand then\r\nleave', is_finished: false, created_at: T2, finished_at: null, id: ID_B },
      { line: 6, content: 'plain', is_finished: false, created_at: null, finished_at: null, id: null },
      { line: 7, content: 'two\nlines (LF inside CRLF)', is_finished: true, created_at: T1, finished_at: null, id: null },
      { line: 9, content: 'last', is_finished: false, created_at: null, finished_at: null, id: null },
    ]);
  });

  it("when a cell carries the export's ' against formulas, then the one ' in front is taken off, as the export's own inverse does", () => {
    // The export puts a ' before any cell starting with a formula character
    // or a ' (app/todos/export.ts), so one leading ' is always its guard.
    const cells = ["'=SUM(A1:A3)", "'+1 call", "'-minus", "'@home", "'\tx tab", "'hello", "''=twice", "''", "a'=b"];
    const upload = [HEADER, ...cells.map((c) => `,"${c}",false,,,`)].join('\n');
    assert.deepEqual(
      (parsed(upload, 'csv') as { content: string }[]).map((r) => r.content),
      ['=SUM(A1:A3)', '+1 call', '-minus', '@home', 'x tab', 'hello', "'=twice", "'", "a'=b"],
    );
  });

  it('when the header has only some of the columns, in another order, with unknown ones, then the columns are matched by name', () => {
    const upload = `Finished_At,notes,Content,IS_FINISHED\n${T1},ignored,done thing,true\n,,open thing,\n`;
    assert.deepEqual(parsed(upload, 'csv'), [
      { line: 2, content: 'done thing', is_finished: true, created_at: null, finished_at: T1, id: null },
      { line: 3, content: 'open thing', is_finished: false, created_at: null, finished_at: null, id: null },
    ]);
  });

  it('when rows are bad, then each is an error with its line: too many cells, an empty content, a bad boolean; rows of empty cells are skipped', () => {
    const upload = [HEADER, ',a,b,c,false,,,', ',,false,,,', ',,,,,', ',x,maybe,,,', ',fine,false'].join('\n');
    const records = parsed(upload, 'csv') as { line: number; errors?: string[]; content?: string }[];
    assert.deepEqual(
      records.map((r) => r.line),
      [2, 3, 5, 6],
    );
    assert.match(
      records[0]!.errors![0]!,
      /^has 8 cells, but the header names 6 columns \(a cell holding a comma.* must be in double quotes\)$/,
    );
    assert.match(records[1]!.errors![0]!, /^content: must not be empty/);
    assert.match(records[2]!.errors![0]!, /^is_finished: .*\(expected true or false\)$/);
    assert.equal(records[3]!.content, 'fine', 'a short row leaves the missing cells empty');
  });

  it('when a quoted cell is never closed, then the rows before it import and one error names the row it starts on', () => {
    const upload = [HEADER, ',first,false,,,', '', ',"never closed,false,,,', ',lost,false,,,'].join('\r\n');
    const records = parsed(upload, 'csv') as { line: number; errors?: string[]; content?: string }[];
    assert.deepEqual(
      records.map((r) => [r.line, r.content ?? r.errors]),
      [
        [2, 'first'],
        [4, ['a quoted cell starts on this row and is never closed, so nothing from here on can be read']],
      ],
    );
  });

  it("when the CSV is Todoist's template, then task rows import their CONTENT and meta, section, note and empty rows are skipped", () => {
    const upload = [
      'TYPE,CONTENT,DESCRIPTION,IS_COLLAPSED,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG',
      'meta,view_style=list,,,,,,,,,,,,,',
      ',,,,,,,,,,,,,,',
      'task,Oil the windows @house,With linseed oil,,2,1,,,every year,en,Europe/Berlin,,,,',
      'task,"Call ""Bob"", then Ann",,,4,2,Ann (8908577),,,,Europe/Berlin,,,,',
      'note,Used the blue one,,,,,Ann (8908577),,2018-06-08T07:02:05.000000Z,,,,,,',
      ',,,,,,,,,,,,,,',
      'section,Oven,,False,,,,,,,,,,,',
      "task,'=not a formula here,,,1,1,,,,,,,,2026-07-19,en",
      'task,,,,4,1,,,,,,,,,',
    ].join('\r\n');
    const records = parsed(upload, 'csv') as { line: number; content?: string; errors?: string[]; is_finished?: boolean }[];
    assert.deepEqual(
      records.slice(0, 3).map((r) => [r.line, r.content, r.is_finished]),
      [
        [4, 'Oil the windows @house', false],
        [5, 'Call "Bob", then Ann', false],
        [9, "'=not a formula here", false],
      ],
    );
    assert.equal(records.length, 4);
    assert.equal(records[3]!.line, 10);
    assert.match(records[3]!.errors![0]!, /^content: must not be empty/);
  });

  it('when the header is neither ours nor Todoist’s, then the file is one error on its first row and nothing else', () => {
    for (const upload of ['name,description\nx,y\n', '\n\ntitle\nsomething\n']) {
      const records = parsed(upload, 'csv') as { line: number; errors: string[] }[];
      assert.equal(records.length, 1, upload);
      assert.equal(records[0]!.line, upload.startsWith('\n') ? 3 : 1);
      assert.match(records[0]!.errors[0]!, /^the first row is not a header this import knows: expected this app's export \(id,content,/);
      assert.match(records[0]!.errors[0]!, /Todoist's template \(TYPE,CONTENT,/);
    }
    assert.deepEqual(parsed('content,Content\na,b\n', 'csv'), [{ line: 1, errors: ['the header names the column content twice'] }]);
  });

  it('when the CSV is not UTF-8, then it is one error naming the first line that is not, and nothing imports', () => {
    const upload = Buffer.concat([Buffer.from(`${HEADER}\n,ok,false,,,\n,caf`), Buffer.from([0xe9]), Buffer.from(',false,,,\n')]);
    const records = parsed(upload, 'csv') as { line: number; errors: string[] }[];
    assert.equal(records.length, 1);
    assert.equal(records[0]!.line, 3);
    assert.match(records[0]!.errors[0]!, /^is not UTF-8 text: save the file as CSV UTF-8/);
  });

  it('when a BOM and multi-byte characters precede a row, then its line number is still its own', () => {
    const upload = `\ufeff${HEADER}\n,"ünïcödé 🎉\nsecond line",false,,,\n,after,false,,,\n`;
    assert.deepEqual(
      (parsed(upload, 'csv') as { line: number }[]).map((r) => r.line),
      [2, 4],
    );
  });
});
