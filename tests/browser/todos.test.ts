// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { addTodo, apiAs, assertClean, createTodos, launch, listedTexts, openList, screenshot, todoRow, type ApiTodo } from './browser';

const XSS = '<img src=x onerror=alert(1)>';

describe('browser: the todo list', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when three todos are added, then they show newest first; edit, finish and unfinish survive a reload', async () => {
    const { account, context, watched, page } = await openList(browser, 'crud');
    for (const text of ['first', 'second', 'third']) await addTodo(page, text);
    assert.deepEqual(await listedTexts(page), ['third', 'second', 'first']);

    await todoRow(page, 'second').getByRole('button', { name: /^Edit/ }).click();
    const input = page.getByLabel('Todo text');
    assert.equal(await input.inputValue(), 'second');
    await input.fill('second, edited');
    await page.getByRole('button', { name: 'Save' }).click();
    await todoRow(page, 'second, edited').waitFor();

    // Escape leaves edit mode without saving.
    await todoRow(page, 'first').getByRole('button', { name: /^Edit/ }).click();
    await page.getByLabel('Todo text').fill('never saved');
    await page.keyboard.press('Escape');
    await todoRow(page, 'first').waitFor();

    await todoRow(page, 'third').locator('.check').check();
    await page.waitForFunction(() => !document.querySelector('li.todo[aria-busy]'));
    assert.match((await todoRow(page, 'third').getAttribute('class')) ?? '', /\bdone\b/);
    assert.match((await todoRow(page, 'third').locator('.meta').textContent()) ?? '', /^Finished /);
    await todoRow(page, 'first').locator('.check').check();
    await page.waitForFunction(() => !document.querySelector('li.todo[aria-busy]'));
    await todoRow(page, 'first').locator('.check').uncheck();
    await page.waitForFunction(() => !document.querySelector('li.todo[aria-busy]'));
    await screenshot(page, 'list');

    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(
      body.data.map((t) => [t.content, t.is_finished]),
      [
        ['third', true],
        ['second, edited', false],
        ['first', false],
      ],
    );
    await page.reload();
    await todoRow(page, 'third').waitFor();
    assert.deepEqual(await listedTexts(page), ['third', 'second, edited', 'first']);
    assert.equal(await todoRow(page, 'third').locator('.check').isChecked(), true);
    assert.equal(await todoRow(page, 'first').locator('.check').isChecked(), false);
    assertClean(watched);
    await context.close();
  });

  it('when a todo is deleted, then Undo brings it back in place, and a delete not undone survives an immediate reload', async () => {
    const { account, context, watched, page } = await openList(browser, 'delete');
    await createTodos(account, ['keep me', 'delete me', 'newest']);
    await page.reload();
    await todoRow(page, 'newest').waitFor();

    await todoRow(page, 'delete me')
      .getByRole('button', { name: /^Delete/ })
      .click();
    await page.locator('li.undo-row', { hasText: 'Deleted “delete me”.' }).waitFor();
    assert.deepEqual(await listedTexts(page), ['newest', 'keep me']);
    await page.getByRole('button', { name: /^Undo/ }).click();
    assert.deepEqual(await listedTexts(page), ['newest', 'delete me', 'keep me'], 'back in its place');
    await page.waitForTimeout(6500); // past the undo time: nothing may be sent
    assert.equal((await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos')).body.data.length, 3);

    await todoRow(page, 'delete me')
      .getByRole('button', { name: /^Delete/ })
      .click();
    await page.locator('li.undo-row').waitFor();
    await page.reload();
    await todoRow(page, 'newest').waitFor();
    assert.deepEqual(await listedTexts(page), ['newest', 'keep me']);
    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(
      body.data.map((t) => t.content),
      ['newest', 'keep me'],
    );
    assertClean(watched);
    await context.close();
  });

  it('when there are more todos than a page, then Load more shows each exactly once, newest first', async () => {
    const { account, context, watched, page } = await openList(browser, 'paging');
    const made = await createTodos(
      account,
      Array.from({ length: 25 }, (_, i) => `bulk ${String(i + 1).padStart(2, '0')}`),
    );
    await page.reload();
    await todoRow(page, 'bulk 25').waitFor();
    const more = page.getByRole('button', { name: 'Load more' });
    let clicks = 0;
    while (await more.isVisible()) {
      const before = await page.locator('li.todo').count();
      await more.click();
      await page.waitForFunction((n) => document.querySelectorAll('li.todo').length > n, before);
      clicks += 1;
    }
    assert.equal(clicks, 1, '25 todos at 20 a page need one Load more');
    const ids = await page.locator('li.todo').evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.id));
    assert.equal(new Set(ids).size, ids.length, 'no todo shows twice');
    assert.deepEqual(ids, made.map((t) => t.id).reverse(), 'every todo, newest first');
    assert.equal(await page.locator('.summary').textContent(), 'Showing 25 todos.');
    assertClean(watched);
    await context.close();
  });

  it('when the filter is Open or Finished, then only those show, and finishing one under Open takes it out of view', async () => {
    const { account, context, watched, page } = await openList(browser, 'filter');
    const [a, b] = await createTodos(account, ['open one', 'done one', 'open two']);
    assert.ok(a && b);
    await apiAs(account, 'PATCH', `/api/todos/${b.id}`, { is_finished: true });
    await page.reload();
    await todoRow(page, 'open two').waitFor();

    await page.getByLabel('Finished', { exact: true }).check();
    await page.waitForFunction(() => document.querySelectorAll('li.todo').length === 1);
    assert.deepEqual(await listedTexts(page), ['done one']);
    await page.getByLabel('Open', { exact: true }).check();
    await page.waitForFunction(() => document.querySelectorAll('li.todo').length === 2);
    assert.deepEqual(await listedTexts(page), ['open two', 'open one']);

    // click, not check: the row leaves the Open view at once, so check()'s
    // look at the box afterwards would find no box.
    await todoRow(page, 'open one').locator('.check').click();
    await todoRow(page, 'open one').waitFor({ state: 'detached' });
    assert.deepEqual(await listedTexts(page), ['open two']);
    await page.getByLabel('All', { exact: true }).check();
    await page.waitForFunction(() => document.querySelectorAll('li.todo').length === 3);
    assert.deepEqual(await listedTexts(page), ['open two', 'done one', 'open one']);
    assertClean(watched);
    await context.close();
  });

  it('when a todo holds HTML, then it shows as literal text and nothing in it runs', async () => {
    const { context, watched, page } = await openList(browser, 'xss');
    await addTodo(page, XSS);
    const text = todoRow(page, XSS).locator('.text');
    assert.equal(await text.textContent(), XSS);
    await page.getByRole('button', { name: /^Edit/ }).click();
    await page.getByLabel('Todo text').fill(`${XSS}<script>alert(2)</script>`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('li.todo .text', { hasText: '<script>' }).waitFor();
    await page.reload();
    await page.locator('li.todo .text', { hasText: '<script>' }).waitFor();
    assert.equal(await page.locator('li.todo .text').textContent(), `${XSS}<script>alert(2)</script>`);
    assert.equal(await page.locator('main img, main script').count(), 0, 'no element was made from the text');
    assertClean(watched); // includes: no dialog opened
    await context.close();
  });
});
