import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { ndjson } from '../helpers/jobs';
import { assertClean, base, createTodos, launch, screenshot, signedInContext, signUpByApi, watchedPage } from './browser';

describe('browser: import and export', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when a file is imported with the keyboard, then a progress bar follows the job and a summary lists the lines that could not be read', async () => {
    const account = await signUpByApi('import');
    const context = await signedInContext(browser, account);
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    const picker = page.getByLabel('Import todos');
    await picker.waitFor();
    const file = Buffer.from(`${ndjson(3_000, 'from the file')}{"content": ""}\n`);
    await picker.setInputFiles({ name: 'todos.ndjson', mimeType: '', buffer: file });
    await picker.focus();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    const summary = page.locator('.import-summary');
    await summary.waitFor({ state: 'visible', timeout: 30_000 });
    const text = await summary.textContent();
    assert.match(text ?? '', /Import finished\./);
    assert.match(text ?? '', /3,000 todos added, 0 already there, 1 lines could not be read/);
    assert.match(text ?? '', /Line 3001: content: must not be empty/);
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'import-summary', 'focus moves to the summary');
    assert.match((await page.locator('#status').textContent()) ?? '', /Import finished/);
    // The list shows the imported todos, newest first.
    await page.getByText('from the file 2999', { exact: true }).waitFor();
    await screenshot(page, 'import-summary', true);
    assertClean(watched);
    await context.close();
  });

  it('when the export links are followed, then the browser downloads every todo as NDJSON and as CSV', async () => {
    const account = await signUpByApi('export');
    await createTodos(account, ['first', 'second, with "quotes"', '=1+1']);
    const context = await signedInContext(browser, account);
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    const save = async (name: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name, exact: true }).click()]);
      return { name: download.suggestedFilename(), text: await readFile(await download.path(), 'utf8') };
    };
    const nd = await save('NDJSON');
    assert.match(nd.name, /^todos-.*\.ndjson$/);
    assert.deepEqual(
      nd.text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { content: string }).content),
      ['=1+1', 'second, with "quotes"', 'first'],
    );
    const csv = await save('CSV');
    assert.match(csv.name, /^todos-.*\.csv$/);
    assert.match(csv.text, /^id,content,is_finished,created_at,updated_at,finished_at\r?\n/);
    assert.match(csv.text, /"second, with ""quotes"""/);
    assert.ok(!/,=1\+1,/.test(csv.text), 'a formula is never written as one');
    assertClean(watched);
    await context.close();
  });
});
