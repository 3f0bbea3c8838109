// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { stack } from '../helpers/stack';

// Shared by the browser tests: Debian's Chromium driven by playwright-core,
// against the whole stack through nginx, with a watch on everything that
// would mean the page is broken or unsafe.

export const base = stack.http;
export const PASSWORD = 'correct horse battery';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

export const uniqueEmail = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}@example.test`;
export const uniqueSlug = (tag: string) => `${tag}-${randomUUID().slice(0, 8)}`;

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export type Watched = {
  page: Page;
  /** Console errors, uncaught exceptions, CSP violations and dialogs: each fails the test. */
  problems: string[];
  /** API answers with a 4xx status or a lost connection, which Chromium logs as console errors. */
  apiFailures: string[];
};

// Chromium logs every 4xx answer as "Failed to load resource". For /api/
// those are the API speaking (401 before log-in, 422 for a bad field) and
// each test checks what the page made of them; anything else is a problem.
const API_FAILURE = /^Failed to load resource: (the server responded with a status of 4\d\d|net::ERR_INTERNET_DISCONNECTED)/;

export async function watchedPage(context: BrowserContext): Promise<Watched> {
  const page = await context.newPage();
  const watched: Watched = { page, problems: [], apiFailures: [] };
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location().url;
    const isApi = url.startsWith(`${base}/api/`);
    if (isApi && API_FAILURE.test(message.text())) watched.apiFailures.push(`${message.text()} ${url}`);
    else watched.problems.push(`console error: ${message.text()} (${url})`);
  });
  page.on('pageerror', (error) => watched.problems.push(`uncaught: ${error.message}`));
  page.on('dialog', (dialog) => {
    watched.problems.push(`dialog (${dialog.type()}): ${dialog.message()}`);
    void dialog.dismiss();
  });
  return watched;
}

export function assertClean(watched: Watched): void {
  assert.deepEqual(watched.problems, [], 'the page logged errors, threw, violated its CSP or opened a dialog');
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  // A caret or a colour transition mid-blink would make screenshots differ for no reason.
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage, animations: 'disabled', caret: 'hide' });
}

export type Account = { email: string; sid: string; csrf: string };

/** An account made through the API (faster than the form), with its session. */
export async function signUpByApi(tag: string): Promise<Account> {
  const email = uniqueEmail(tag);
  const res = await fetch(`${base}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const sid = /(?:^|\s)sid=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  assert.ok(sid, 'sign-up sets the sid cookie');
  const { csrf_token } = (await res.json()) as { csrf_token: string };
  return { email, sid, csrf: csrf_token };
}

/** A browser context already signed in as the account (its sid cookie, as after a log-in). */
export async function signedInContext(browser: Browser, account: Account, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, ...options });
  await context.addCookies([{ name: 'sid', value: account.sid, url: base, httpOnly: true, sameSite: 'Lax' }]);
  return context;
}

export async function apiAs<T>(account: Account, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: { cookie: `sid=${account.sid}`, 'x-csrf-token': account.csrf, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as T };
}

export type ApiTodo = { id: string; content: string; is_finished: boolean };

/** Creates todos one after another, so each is newer than the one before. */
export async function createTodos(account: Account, contents: string[]): Promise<ApiTodo[]> {
  const made: ApiTodo[] = [];
  for (const content of contents) {
    const res = await apiAs<ApiTodo>(account, 'POST', '/api/todos', { content });
    assert.equal(res.status, 201);
    made.push(res.body);
  }
  return made;
}

/** A new account, signed in, its list open in a page that is watched. */
export async function openList(browser: Browser, tag: string, options: BrowserContextOptions = {}) {
  const account = await signUpByApi(tag);
  const context = await signedInContext(browser, account, options);
  const watched = await watchedPage(context);
  await watched.page.goto(base);
  await watched.page.getByLabel('New todo').waitFor();
  return { account, context, watched, page: watched.page };
}

export async function addTodo(page: Page, text: string): Promise<void> {
  await page.getByLabel('New todo').fill(text);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await todoRow(page, text).waitFor();
}

const literally = (text: string) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

/** The visible row whose text is exactly this. */
export const todoRow = (page: Page, text: string) =>
  page.locator('li.todo:not([hidden])').filter({ has: page.locator('.text', { hasText: literally(text) }) });

/** The texts of the todos on the page, top to bottom (visible rows only). */
export const listedTexts = (page: Page) => page.locator('li.todo:not([hidden]) .text').allTextContents();

/** What has keyboard focus: its id, or its role and name. */
export const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    return el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
  });
