// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertClean, base, focused, launch, PASSWORD, screenshot, signUpByApi, uniqueEmail, watchedPage } from './browser';

describe('browser: signing up, logging in and out', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when someone signs up, then they are signed in at once; after log out a reload stays signed out', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await screenshot(page, 'signed-out');

    const email = uniqueEmail('signup');
    await page.getByRole('button', { name: 'Sign up instead' }).click();
    await page.getByRole('heading', { name: 'Sign up' }).waitFor();
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('New todo').waitFor();
    assert.equal(await page.locator('.who strong').textContent(), email);
    // The form shows before the first page has arrived: wait for the list.
    await page.locator('.empty', { hasText: 'No todos' }).waitFor();
    assert.equal(await page.locator('.empty').textContent(), 'No todos yet. Add one above.');
    const cookies = await context.cookies(base);
    assert.ok(
      cookies.some((c) => c.name === 'sid' && c.httpOnly),
      'the session is an HttpOnly sid cookie',
    );

    await page.reload();
    await page.getByLabel('New todo').waitFor();
    assert.equal(await page.locator('.who strong').textContent(), email, 'the session survives a reload');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await page.locator('.todos').count(), 0, 'the list is gone from the page');
    await page.reload();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assert.equal(await page.getByLabel('New todo').count(), 0);
    assertClean(watched);
    await context.close();
  });

  it("when sign-up or log-in input is wrong, then the API's messages show next to the fields they concern", async () => {
    const taken = await signUpByApi('taken');
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    await page.getByRole('button', { name: 'Sign up instead' }).click();
    await page.getByLabel('E-mail').fill('not an address');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();

    const emailError = page.locator('#auth-email-error');
    const passwordError = page.locator('#auth-password-error');
    await emailError.waitFor();
    assert.equal(await emailError.textContent(), 'Invalid email address. Expected an e-mail address, at most 254 characters.');
    assert.equal(await passwordError.textContent(), 'The password must be 12 to 200 characters long.');
    const email = page.getByLabel('E-mail');
    assert.equal(await email.getAttribute('aria-invalid'), 'true');
    assert.match((await email.getAttribute('aria-describedby')) ?? '', /auth-email-error/);
    assert.equal(await focused(page), '#auth-email', 'focus goes to the first field in error');
    await screenshot(page, 'error-validation');

    // 409: the address is registered; the message lands under the e-mail field.
    await email.fill(taken.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#auth-email-error', { hasText: 'already registered' }).waitFor();
    assert.equal(await page.locator('#auth-email-error').textContent(), 'The e-mail address is already registered.');
    assert.equal(await passwordError.count(), 0, 'the old password message is cleared');

    // 401 on log-in is a wrong password, said in the form, not "session ended".
    await page.getByRole('button', { name: 'Log in instead' }).click();
    await page.getByLabel('Password').fill('wrong password!');
    await page.getByRole('button', { name: 'Log in' }).click();
    const formError = page.locator('.form-error');
    await formError.waitFor();
    assert.equal(await formError.textContent(), 'The e-mail address or the password is wrong.');
    assert.deepEqual(
      watched.apiFailures.map((f) => /status of (\d+)/.exec(f)?.[1]),
      ['401', '422', '409', '401'],
    );
    assertClean(watched);
    await context.close();
  });

  it('when only the keyboard is used, then one can log in, add, finish, edit, delete and undo, with focus always visible', async () => {
    const account = await signUpByApi('keys');
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    const k = page.keyboard;
    const outline = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        // The radios are visually hidden; their label carries the ring.
        const shown = el instanceof HTMLInputElement && el.type === 'radio' ? el.labels![0]! : el;
        const style = getComputedStyle(shown);
        return `${style.outlineStyle} ${style.outlineWidth}`;
      });

    await k.press('Tab');
    assert.equal(await focused(page), '#auth-email');
    assert.equal(await outline(), 'solid 3px');
    await k.type(account.email);
    await k.press('Tab');
    assert.equal(await focused(page), '#auth-password');
    await k.type(PASSWORD);
    await k.press('Enter');
    await page.getByLabel('New todo').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'new-todo');
    assert.equal(await outline(), 'solid 3px');

    await k.type('typed without a mouse');
    await k.press('Enter');
    await page.locator('li.todo', { hasText: 'typed without a mouse' }).waitFor();
    assert.equal(await page.getByLabel('New todo').inputValue(), '', 'the field is emptied for the next todo');

    await k.press('Tab'); // Add
    await k.press('Tab'); // the filter (one stop for the radio group)
    assert.equal(await focused(page), '#filter-all');
    assert.equal(await outline(), 'solid 3px');
    await k.press('Tab');
    const item = page.locator('li.todo').first();
    const checkboxId = await item.locator('.check').getAttribute('id');
    assert.equal(await focused(page), `#${checkboxId}`);
    await k.press('Space');
    await page.waitForFunction(
      () => document.querySelector('li.todo')?.classList.contains('done') && !document.querySelector('li.todo')?.hasAttribute('aria-busy'),
    );
    assert.equal(await focused(page), `#${checkboxId}`, 'focus stays on the checkbox');

    await k.press('Tab');
    assert.equal(await focused(page), 'button:Edit “typed without a mouse”');
    await k.press('Enter');
    await k.press('End');
    await k.type(', edited');
    await k.press('Enter');
    await page.locator('li.todo .text', { hasText: 'typed without a mouse, edited' }).waitFor();
    assert.equal(await focused(page), 'button:Edit “typed without a mouse, edited”', 'focus returns to Edit');
    assert.equal(await outline(), 'solid 3px');

    await k.press('Tab');
    await k.press('Enter'); // Delete
    await page.locator('li.undo-row').waitFor();
    assert.equal(await focused(page), 'button:Undo deleting “typed without a mouse, edited”');
    await k.press('Enter');
    await page.locator('li.undo-row').waitFor({ state: 'detached' });
    assert.equal(await focused(page), 'button:Delete “typed without a mouse, edited”');

    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, button, select, textarea')]
        .filter((el) => {
          const named =
            el instanceof HTMLButtonElement ? (el.textContent ?? '').trim() !== '' : ((el as HTMLInputElement).labels?.length ?? 0) > 0;
          return !named && !el.getAttribute('aria-label');
        })
        .map((el) => el.outerHTML),
    );
    assert.deepEqual(unlabelled, [], 'every control has a label');
    assertClean(watched);
    await context.close();
  });

  it('when the page breaks its CSP, then the guard these tests rely on notices', async () => {
    // Proves that nginx's CSP is enforced on the page and that a violation
    // reaches the console listener that fails the other tests.
    const context = await browser.newContext();
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(base);
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    assertClean(watched);
    await page.evaluate(() => {
      document.body.setAttribute('style', 'outline: 1px solid red');
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
    });
    await page.waitForTimeout(200);
    assert.equal(
      await page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan),
      undefined,
      'inline script did not run',
    );
    assert.ok(
      watched.problems.some((p) => /violates the following Content Security Policy directive 'style-src 'self''/.test(p)),
      watched.problems.join('\n'),
    );
    assert.ok(
      watched.problems.some((p) => /violates the following Content Security Policy directive 'script-src 'self''/.test(p)),
      watched.problems.join('\n'),
    );
    await context.close();
  });
});
