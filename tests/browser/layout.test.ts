// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { apiAs, assertClean, base, createTodos, launch, screenshot, signedInContext, signUpByApi, todoRow, watchedPage } from './browser';

describe('browser: layout and colour scheme', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when the screen is 360 px wide, or the system scheme is light or dark, then the page fits and follows the scheme', async () => {
    const account = await signUpByApi('looks');
    const [, books] = await createTodos(account, [
      'Buy oat milk',
      'Return the library books before Friday',
      'Book the car for its service',
      'Water the plants',
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
      await todoRow(page, 'Water the plants').waitFor();
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
