import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { apiAs, assertClean, base, launch, listedTexts, PASSWORD, signedInContext, signUpByApi, watchedPage } from './browser';

describe('browser: a session changed from another tab', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when another tab logs in again, then the page carries on for the same user and stops for another; a revoked session asks to log in', async () => {
    const account = await signUpByApi('tabs');
    const stranger = await signUpByApi('other');
    const context = await signedInContext(browser, account);
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    await page.getByLabel('New todo').waitFor();
    // The other tab: a log-in replaces the shared cookie and ends this page's session.
    const other = await watchedPage(context);
    const otherTab = other.page;
    await otherTab.goto(base);
    const logInThere = (email: string) =>
      otherTab.evaluate(
        async ([e, p]) =>
          (
            await fetch('/api/session', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ email: e, password: p }),
            })
          ).status,
        [email, PASSWORD] as const,
      );
    assert.equal(await logInThere(account.email), 201);

    await page.getByLabel('New todo').fill('after the other tab logged in');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('li.todo', { hasText: 'after the other tab logged in' }).waitFor();

    assert.equal(await logInThere(stranger.email), 201);
    await page.getByLabel('New todo').fill('must not land in the other list');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const formError = page.locator('.add .form-error');
    await formError.waitFor();
    assert.match((await formError.textContent()) ?? '', /session is out of date.*Reload the page/);
    assert.deepEqual((await apiAs<{ data: unknown[] }>(stranger, 'GET', '/api/todos')).body.data, [], 'nothing reached the other user');
    assert.deepEqual(await listedTexts(page), ['after the other tab logged in']);

    // Logging out there ends the session here too: the next action asks to log in.
    assert.equal(
      await otherTab.evaluate(async () => {
        const { csrf_token } = (await (await fetch('/api/session')).json()) as { csrf_token: string };
        return (await fetch('/api/session', { method: 'DELETE', headers: { 'x-csrf-token': csrf_token } })).status;
      }),
      204,
    );
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(
      await page.locator('#notice [role=alert]').textContent(),
      'Your session has ended (you may have logged out in another tab). Log in again.',
    );
    assert.deepEqual(
      watched.apiFailures.map((f) => /status of (\d+)/.exec(f)?.[1]),
      ['403', '403', '401'],
    );
    assertClean(watched);
    assertClean(other);
    await context.close();
  });
});
