// The waiting page never sends a visitor to a host the room does not name: return URLs that point
// elsewhere land on "/" of the waiting room's own site.

import { assert, openBrowser, PUBLIC, run } from './lib.mjs';

await run('open redirect', async () => {
  const browser = await openBrowser();
  try {
    const page = await browser.page();
    const elsewhere = [];
    await page.route((url) => url.hostname.endsWith('evil.example'), (route) => {
      elsewhere.push(route.request().url());
      return route.abort();
    });
    for (const ret of ['https://evil.example/', '//evil.example/', '/\\evil.example/', 'javascript:alert(1)']) {
      await page.goto(`${PUBLIC}/wait/open?return=${encodeURIComponent(ret)}`);
      // The room has space: the page is admitted at once and leaves for its return URL.
      await page.waitForURL(`${PUBLIC}/`, { timeout: 10000 });
      assert.equal(new URL(page.url()).host, new URL(PUBLIC).host, ret);
      await page.waitForSelector('#vwr-demo');
    }
    assert.deepEqual(elsewhere, [], 'no request went to the other host');
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
});
