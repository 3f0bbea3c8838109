// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  apiAs, assertClean, base, createTodos, launch, listedTexts, screenshot, signedInContext, signUpByApi, watchedPage,
  type ApiTodo,
} from './browser';

const XSS = '<img src=x onerror=alert(1)>';

describe('browser: the todo list', () => {
  let browser: Browser;
  before(async () => { browser = await launch(); });
  after(async () => { await browser.close(); });

  async function open(tag: string, options = {}) {
    const account = await signUpByApi(tag);
    const context = await signedInContext(browser, account, options);
    const watched = await watchedPage(context);
    await watched.page.goto(base);
    await watched.page.getByLabel('New todo').waitFor();
    return { account, context, watched, page: watched.page };
  }

  async function add(page: import('playwright-core').Page, text: string) {
    await page.getByLabel('New todo').fill(text);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('li.todo .text', { hasText: text }).first().waitFor();
  }

  const row = (page: import('playwright-core').Page, text: string) =>
    page.locator('li.todo:not([hidden])').filter({ has: page.locator('.text', { hasText: new RegExp(`^${text}$`) }) });

  it('when three todos are added, then they show newest first; edit, finish and unfinish survive a reload', async () => {
    const { account, context, watched, page } = await open('crud');
    for (const text of ['first', 'second', 'third']) await add(page, text);
    assert.deepEqual(await listedTexts(page), ['third', 'second', 'first']);

    await row(page, 'second').getByRole('button', { name: /^Edit/ }).click();
    const input = page.getByLabel('Todo text');
    assert.equal(await input.inputValue(), 'second');
    await input.fill('second, edited');
    await page.getByRole('button', { name: 'Save' }).click();
    await row(page, 'second, edited').waitFor();

    // Escape leaves edit mode without saving.
    await row(page, 'first').getByRole('button', { name: /^Edit/ }).click();
    await page.getByLabel('Todo text').fill('never saved');
    await page.keyboard.press('Escape');
    await row(page, 'first').waitFor();

    await row(page, 'third').locator('.check').check();
    await page.waitForFunction(() => !document.querySelector('li.todo[aria-busy]'));
    assert.match(await row(page, 'third').getAttribute('class') ?? '', /\bdone\b/);
    assert.match(await row(page, 'third').locator('.meta').textContent() ?? '', /^Finished /);
    await row(page, 'first').locator('.check').check();
    await page.waitForFunction(() => !document.querySelector('li.todo[aria-busy]'));
    await row(page, 'first').locator('.check').uncheck();
    await page.waitForFunction(() => !document.querySelector('li.todo[aria-busy]'));
    await screenshot(page, 'list');

    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(body.data.map((t) => [t.content, t.is_finished]), [['third', true], ['second, edited', false], ['first', false]]);
    await page.reload();
    await row(page, 'third').waitFor();
    assert.deepEqual(await listedTexts(page), ['third', 'second, edited', 'first']);
    assert.equal(await row(page, 'third').locator('.check').isChecked(), true);
    assert.equal(await row(page, 'first').locator('.check').isChecked(), false);
    assertClean(watched);
    await context.close();
  });

  it('when a todo is deleted, then Undo brings it back in place, and a delete not undone survives an immediate reload', async () => {
    const { account, context, watched, page } = await open('delete');
    await createTodos(account, ['keep me', 'delete me', 'newest']);
    await page.reload();
    await row(page, 'newest').waitFor();

    await row(page, 'delete me').getByRole('button', { name: /^Delete/ }).click();
    await page.locator('li.undo-row', { hasText: 'Deleted “delete me”.' }).waitFor();
    assert.deepEqual(await listedTexts(page), ['newest', 'keep me']);
    await page.getByRole('button', { name: /^Undo/ }).click();
    assert.deepEqual(await listedTexts(page), ['newest', 'delete me', 'keep me'], 'back in its place');
    await page.waitForTimeout(6500); // past the undo time: nothing may be sent
    assert.equal((await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos')).body.data.length, 3);

    await row(page, 'delete me').getByRole('button', { name: /^Delete/ }).click();
    await page.locator('li.undo-row').waitFor();
    await page.reload();
    await row(page, 'newest').waitFor();
    assert.deepEqual(await listedTexts(page), ['newest', 'keep me']);
    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(body.data.map((t) => t.content), ['newest', 'keep me']);
    assertClean(watched);
    await context.close();
  });

  it('when there are more todos than a page, then Load more shows each exactly once, newest first', async () => {
    const { account, context, watched, page } = await open('paging');
    const made = await createTodos(account, Array.from({ length: 25 }, (_, i) => `bulk ${String(i + 1).padStart(2, '0')}`));
    await page.reload();
    await row(page, 'bulk 25').waitFor();
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
    const { account, context, watched, page } = await open('filter');
    const [a, b] = await createTodos(account, ['open one', 'done one', 'open two']);
    assert.ok(a && b);
    await apiAs(account, 'PATCH', `/api/todos/${b.id}`, { is_finished: true });
    await page.reload();
    await row(page, 'open two').waitFor();

    await page.getByLabel('Finished', { exact: true }).check();
    await page.waitForFunction(() => document.querySelectorAll('li.todo').length === 1);
    assert.deepEqual(await listedTexts(page), ['done one']);
    await page.getByLabel('Open', { exact: true }).check();
    await page.waitForFunction(() => document.querySelectorAll('li.todo').length === 2);
    assert.deepEqual(await listedTexts(page), ['open two', 'open one']);

    await row(page, 'open one').locator('.check').check();
    await row(page, 'open one').waitFor({ state: 'detached' });
    assert.deepEqual(await listedTexts(page), ['open two']);
    await page.getByLabel('All', { exact: true }).check();
    await page.waitForFunction(() => document.querySelectorAll('li.todo').length === 3);
    assert.deepEqual(await listedTexts(page), ['open two', 'done one', 'open one']);
    assertClean(watched);
    await context.close();
  });

  it('when a todo holds HTML, then it shows as literal text and nothing in it runs', async () => {
    const { context, watched, page } = await open('xss');
    await add(page, XSS);
    const text = row(page, XSS.replace(/[()]/g, '\\$&')).locator('.text');
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

  it('when a field is invalid or the connection drops, then the message says so where it belongs and Retry works once back', async () => {
    const { account, context, watched, page } = await open('errors');
    await page.getByLabel('New todo').fill('   ');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const fieldError = page.locator('#new-todo-error');
    await fieldError.waitFor();
    assert.equal(await fieldError.textContent(), 'The todo must not be empty or only whitespace.');
    assert.equal(await page.getByLabel('New todo').getAttribute('aria-invalid'), 'true');

    await page.getByLabel('New todo').fill('made while offline');
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const notice = page.locator('#notice');
    await notice.getByRole('alert').waitFor();
    assert.equal(await notice.getByRole('alert').textContent(), 'The todo was not added. Cannot reach the server. Check your connection, then retry.');
    assert.equal(await fieldError.count(), 0, 'the old field message is gone');
    await screenshot(page, 'error-offline');

    // An optimistic finish that fails is rolled back where it happened.
    await context.setOffline(false);
    await createTodos(account, ['to finish']);
    await page.reload();
    await row(page, 'to finish').waitFor();
    await page.getByLabel('New todo').fill('made while offline');
    await context.setOffline(true);
    // click, not check: the rollback comes so fast that check() sees no change.
    await row(page, 'to finish').locator('.check').click();
    await notice.getByRole('alert').filter({ hasText: 'was not finished' }).waitFor();
    assert.equal(await row(page, 'to finish').locator('.check').isChecked(), false, 'rolled back');
    assert.doesNotMatch(await row(page, 'to finish').getAttribute('class') ?? '', /\bdone\b/);

    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await notice.getByRole('alert').filter({ hasText: 'was not added' }).waitFor();
    await context.setOffline(false);
    await notice.getByRole('button', { name: 'Retry' }).click();
    await row(page, 'made while offline').waitFor();
    assert.equal(await notice.isHidden(), true);
    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(body.data.map((t) => t.content), ['made while offline', 'to finish'], 'created exactly once');
    assert.ok(watched.apiFailures.some((f) => f.includes('ERR_INTERNET_DISCONNECTED')));
    assertClean(watched);
    await context.close();
  });

  it('when the screen is 360 px wide or the system is dark, then the page fits and follows the scheme', async () => {
    const account = await signUpByApi('looks');
    const [, books] = await createTodos(account, [
      'Buy oat milk', 'Return the library books before Friday', 'Book the car for its service', 'Water the plants',
    ]);
    await apiAs(account, 'PATCH', `/api/todos/${books!.id}`, { is_finished: true });
    for (const [name, options] of [
      ['light', { colorScheme: 'light' as const, viewport: { width: 1000, height: 700 } }],
      ['narrow-360', { viewport: { width: 360, height: 740 } }],
      ['dark', { colorScheme: 'dark' as const, viewport: { width: 1000, height: 700 } }],
    ] as const) {
      const context = await signedInContext(browser, account, options);
      const watched = await watchedPage(context);
      const { page } = watched;
      await page.goto(base);
      await row(page, 'Water the plants').waitFor();
      const layout = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        background: getComputedStyle(document.documentElement).backgroundColor,
      }));
      assert.equal(layout.overflow, 0, `${name}: nothing sticks out sideways`);
      const [r, g, b] = (layout.background.match(/\d+/g) ?? []).map(Number);
      const light = (r! + g! + b!) / 3 > 128;
      assert.equal(light, name !== 'dark', `${name}: background ${layout.background}`);
      await screenshot(page, name, name === 'narrow-360');
      assertClean(watched);
      await context.close();
    }
  });
});
