import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import {
  apiAs,
  assertClean,
  base,
  createTodos,
  launch,
  screenshot,
  signedInContext,
  signUpByApi,
  uniqueSlug,
  watchedPage,
} from './browser';

const XSS = '<img src=x onerror=alert(1)>';

describe('browser: the public list', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when a slug is set, then its link opens a read-only, escaped page for anyone; unpublishing takes it down', async () => {
    const account = await signUpByApi('public');
    await createTodos(account, ['public and plain', XSS]);
    const context = await signedInContext(browser, account);
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    await page.getByLabel('Public address').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Unpublish' }).isVisible(), false);

    const slug = uniqueSlug('list');
    await page.getByLabel('Public address').fill(slug);
    await page.getByRole('button', { name: 'Publish' }).click();
    const link = page.locator('.published a');
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), `/u/${slug}`);
    assert.equal(await link.textContent(), `${base}/u/${slug}`);
    assert.equal(await page.getByRole('button', { name: 'Unpublish' }).isVisible(), true);

    // A stranger: a fresh context without the owner's cookie.
    const stranger = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const outside = await watchedPage(stranger);
    const response = await outside.page.goto(`${base}/u/${slug}`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
    assert.equal(await outside.page.getByRole('heading', { level: 1 }).textContent(), `${slug}’s todos`);
    assert.deepEqual(await outside.page.locator('li .content').allTextContents(), [XSS, 'public and plain']);
    assert.equal(await outside.page.locator('main img, script').count(), 0, 'the payload stayed text');
    assert.equal(await outside.page.locator('form, input, button, textarea').count(), 0, 'read-only');
    await screenshot(outside.page, 'public-page');
    assertClean(outside);
    await stranger.close();

    await page.getByRole('button', { name: 'Unpublish' }).click();
    await page.locator('.published').waitFor({ state: 'hidden' });
    assert.equal(await page.getByLabel('Public address').inputValue(), '');
    const me = await apiAs<{ user: { public_slug: string | null } }>(account, 'GET', '/api/me');
    assert.equal(me.body.user.public_slug, null);
    // The edge cache may keep the old page for up to a second.
    let status = 0;
    for (let i = 0; i < 30 && status !== 404; i++) {
      status = (await fetch(`${base}/u/${slug}`)).status;
      if (status !== 404) await sleep(100);
    }
    assert.equal(status, 404);
    assertClean(watched);
    await context.close();
  });

  it('when the slug is malformed or taken, then the message sits under the Public address field', async () => {
    const other = await signUpByApi('owner');
    const taken = uniqueSlug('taken');
    assert.equal((await apiAs(other, 'PATCH', '/api/me', { public_slug: taken })).status, 200);
    const account = await signUpByApi('slugger');
    const context = await signedInContext(browser, account);
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    const field = page.getByLabel('Public address');
    await field.waitFor();

    await field.fill('No Spaces!');
    await page.getByRole('button', { name: 'Publish' }).click();
    const error = page.locator('#public-slug-error');
    await error.waitFor();
    assert.equal(await error.textContent(), 'The public address must be 3 to 40 of a-z, 0-9 and -.');
    assert.match((await field.getAttribute('aria-describedby')) ?? '', /public-slug-hint public-slug-error/);

    await field.fill(taken);
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.locator('#public-slug-error', { hasText: 'taken' }).waitFor();
    assert.equal(await error.textContent(), 'The public address is already taken.');
    assert.equal(await page.locator('.published').isVisible(), false);
    assertClean(watched);
    await context.close();
  });
});
