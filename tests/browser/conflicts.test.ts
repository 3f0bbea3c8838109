// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  apiAs,
  assertClean,
  base,
  createTodos,
  launch,
  listedTexts,
  openList,
  screenshot,
  todoRow,
  watchedPage,
  type ApiTodo,
} from './browser';

// Two tabs (or two devices) on one list: a change made in one is never
// silently overwritten from the other, which shows what happened instead.
// And "Clear finished", with the same undo as a delete.

const NOTICE = /was changed elsewhere \(in another tab or on another device\)/;

describe('browser: changes made elsewhere, and clearing finished todos', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  /** A second tab of the same browser, its list loaded. */
  async function secondTab(
    context: Parameters<typeof watchedPage>[0],
  ): Promise<{ page: Page; watched: Awaited<ReturnType<typeof watchedPage>> }> {
    const watched = await watchedPage(context);
    await watched.page.goto(base);
    await watched.page.getByLabel('New todo').waitFor();
    return { page: watched.page, watched };
  }

  it('when a todo is edited in another tab and then edited here, then this tab says so, shows the current text and keeps the typed one until saved again', async () => {
    const { account, context, watched, page } = await openList(browser, 'conflict-edit');
    await createTodos(account, ['buy milk']);
    await page.reload();
    await todoRow(page, 'buy milk').waitFor();

    const other = await secondTab(context);
    await todoRow(other.page, 'buy milk').getByRole('button', { name: /^Edit/ }).click();
    await other.page.getByLabel('Todo text').fill('buy oat milk');
    await other.page.getByRole('button', { name: 'Save' }).click();
    await todoRow(other.page, 'buy oat milk').waitFor();

    // This tab still shows the old text; its edit names that version.
    await todoRow(page, 'buy milk').getByRole('button', { name: /^Edit/ }).click();
    const input = page.getByLabel('Todo text');
    await input.fill('buy two litres of milk');
    await page.getByRole('button', { name: 'Save' }).click();
    const message = page.locator('form.edit .form-error');
    await message.waitFor();
    const text = (await message.textContent()) ?? '';
    assert.match(text, NOTICE);
    assert.match(text, /It now reads “buy oat milk”/);
    assert.equal(await input.inputValue(), 'buy two litres of milk', 'what was typed is kept');
    await screenshot(page, 'conflict-edit');
    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.equal(body.data[0]!.content, 'buy oat milk', 'nothing was overwritten');

    // Cancel keeps the other tab's version, now shown here.
    await page.getByRole('button', { name: 'Cancel' }).click();
    await todoRow(page, 'buy oat milk').waitFor();

    // Saving again, knowingly, replaces it.
    await todoRow(page, 'buy oat milk').getByRole('button', { name: /^Edit/ }).click();
    await page.getByLabel('Todo text').fill('buy two litres of milk');
    await page.getByRole('button', { name: 'Save' }).click();
    await todoRow(page, 'buy two litres of milk').waitFor();
    assert.equal((await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos')).body.data[0]!.content, 'buy two litres of milk');
    assertClean(watched);
    assertClean(other.watched);
    await context.close();
  });

  it('when a todo changed in another tab is finished or deleted here, then neither happens and the current version is shown', async () => {
    const { account, context, watched, page } = await openList(browser, 'conflict-finish');
    const [todo] = await createTodos(account, ['call the bank']);
    await page.reload();
    await todoRow(page, 'call the bank').waitFor();
    // Another device renames it.
    assert.equal((await apiAs(account, 'PATCH', `/api/todos/${todo!.id}`, { content: 'call the bank at 9' })).status, 200);

    // click, not check(): the box is meant to spring back.
    await todoRow(page, 'call the bank').locator('.check').click();
    await page.locator('#notice .notice-text', { hasText: NOTICE }).waitFor();
    assert.match(
      (await page.locator('#notice .notice-text').textContent()) ?? '',
      /so it was not finished\. It now shows the current version\./,
    );
    await todoRow(page, 'call the bank at 9').waitFor();
    assert.equal(await todoRow(page, 'call the bank at 9').locator('.check').isChecked(), false);
    let current = (await apiAs<ApiTodo>(account, 'GET', `/api/todos/${todo!.id}`)).body;
    assert.equal(current.is_finished, false);

    // Changed again elsewhere while a delete waits for its undo time.
    await todoRow(page, 'call the bank at 9')
      .getByRole('button', { name: /^Delete/ })
      .click();
    await page.locator('li.undo-row').waitFor();
    assert.equal((await apiAs(account, 'PATCH', `/api/todos/${todo!.id}`, { content: 'call the bank at 10' })).status, 200);
    await page.locator('#notice .notice-text', { hasText: /so it was not deleted/ }).waitFor({ timeout: 10_000 });
    await todoRow(page, 'call the bank at 10').waitFor();
    current = (await apiAs<ApiTodo>(account, 'GET', `/api/todos/${todo!.id}`)).body;
    assert.equal(current.content, 'call the bank at 10', 'the todo is still there');
    assertClean(watched);
    await context.close();
  });

  it('when Clear finished is used, then the finished todos go after the undo time, Undo keeps them, and open ones stay', async () => {
    const { account, context, watched, page } = await openList(browser, 'clear');
    const made = await createTodos(account, ['open one', 'done one', 'open two', 'done two']);
    for (const todo of made.filter((t) => t.content.startsWith('done'))) {
      assert.equal((await apiAs(account, 'PUT', `/api/todos/${todo.id}/finish`)).status, 200);
    }
    await page.reload();
    await todoRow(page, 'done two').waitFor();

    const clear = page.getByRole('button', { name: 'Clear finished' });
    await clear.click();
    await page.locator('li.undo-row', { hasText: 'Cleared the finished todos.' }).waitFor();
    assert.deepEqual(await listedTexts(page), ['open two', 'open one']);
    await page.getByRole('button', { name: /^Undo/ }).click();
    assert.deepEqual(await listedTexts(page), ['done two', 'open two', 'done one', 'open one'], 'back in place');
    await page.waitForTimeout(6500); // past the undo time: nothing may be sent
    assert.equal((await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos')).body.data.length, 4);

    await clear.click();
    await page.locator('li.undo-row').waitFor();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'Deleted 2 finished todos.', null, {
      timeout: 10_000,
    });
    await page.locator('li.undo-row').waitFor({ state: 'detached' });
    assert.deepEqual(await listedTexts(page), ['open two', 'open one']);
    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(
      body.data.map((t) => t.content),
      ['open two', 'open one'],
    );
    await screenshot(page, 'cleared');
    assertClean(watched);
    await context.close();
  });
});
