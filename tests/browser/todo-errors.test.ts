import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { apiAs, assertClean, createTodos, launch, openList, screenshot, todoRow, type ApiTodo } from './browser';

describe('browser: failures the user can see and recover from', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when a field is invalid or the connection drops, then the message says so where it belongs and Retry works once back', async () => {
    const { account, context, watched, page } = await openList(browser, 'errors');
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
    assert.equal(
      await notice.getByRole('alert').textContent(),
      'The todo was not added. Cannot reach the server. Check your connection, then retry.',
    );
    assert.equal(await fieldError.count(), 0, 'the old field message is gone');
    await screenshot(page, 'error-offline');

    // An optimistic finish that fails is rolled back where it happened.
    await context.setOffline(false);
    await createTodos(account, ['to finish']);
    await page.reload();
    await todoRow(page, 'to finish').waitFor();
    await page.getByLabel('New todo').fill('made while offline');
    await context.setOffline(true);
    // click, not check: the rollback comes so fast that check() sees no change.
    await todoRow(page, 'to finish').locator('.check').click();
    await notice.getByRole('alert').filter({ hasText: 'was not finished' }).waitFor();
    assert.equal(await todoRow(page, 'to finish').locator('.check').isChecked(), false, 'rolled back');
    assert.doesNotMatch((await todoRow(page, 'to finish').getAttribute('class')) ?? '', /\bdone\b/);

    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await notice.getByRole('alert').filter({ hasText: 'was not added' }).waitFor();
    await context.setOffline(false);
    await notice.getByRole('button', { name: 'Retry' }).click();
    await todoRow(page, 'made while offline').waitFor();
    assert.equal(await notice.isHidden(), true);
    const { body } = await apiAs<{ data: ApiTodo[] }>(account, 'GET', '/api/todos');
    assert.deepEqual(
      body.data.map((t) => t.content),
      ['made while offline', 'to finish'],
      'created exactly once',
    );
    assert.ok(watched.apiFailures.some((f) => f.includes('ERR_INTERNET_DISCONNECTED')));
    assertClean(watched);
    await context.close();
  });
});
