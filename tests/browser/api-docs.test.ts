import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertClean, base, launch, screenshot, watchedPage } from './browser';

describe('browser: the API reference', () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser.close();
  });

  it('when /api/docs is opened, then every path of /api/openapi.json is on the page, under the strict CSP, with nothing from another host', async () => {
    const described = await fetch(`${base}/api/openapi.json`);
    assert.equal(described.status, 200);
    const document = (await described.json()) as { paths: Record<string, unknown> };
    const paths = Object.keys(document.paths);

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const watched = await watchedPage(context);
    const { page } = watched;
    const hosts = new Set<string>();
    page.on('request', (request) => hosts.add(new URL(request.url()).origin));
    const response = await page.goto(`${base}/api/docs`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self';/, 'no inline or foreign script');
    assert.match(csp, /style-src 'self';/);
    await page.locator('.opblock').first().waitFor();

    const shown = new Set(await page.locator('.opblock-summary-path').evaluateAll((els) => els.map((el) => el.getAttribute('data-path'))));
    assert.deepEqual(
      paths.filter((p) => !shown.has(p)),
      [],
      'every path of the description is on the page',
    );
    assert.equal(
      await page.locator('.opblock').count(),
      Object.values(document.paths).flatMap((item) => Object.keys(item as object)).length,
    );
    assert.deepEqual([...hosts], [base], 'every request went to the site itself');
    await screenshot(page, 'api-docs');
    assertClean(watched);
    await context.close();
  });
});
