// The waiting page's wait as a range ("about 9–11 minutes" / "약 9–11분"), and "Leave the line":
// the place is given back to the server (the line shrinks, the old ticket is spent), and joining
// again goes to the back.

import { api, assert, join, openBrowser, PUBLIC, run, shot } from './lib.mjs';

const state = (page, s) =>
  page.waitForFunction((want) => document.querySelector('#vwr-wait').dataset.state === want, s);

async function queueSize(room) {
  const r = await api('GET', `${PUBLIC}/api/v1/rooms/${room}`);
  assert.equal(r.status, 200);
  return r.body.queueSize;
}

async function statusOf(room, ticket) {
  const r = await api('GET', `${PUBLIC}/api/v1/rooms/${room}/status`, { headers: { 'X-VWR-Ticket': ticket } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

await run('leave the line', async () => {
  const holder = await join('slow');
  assert.equal(holder.status, 'admitted');
  for (let i = 0; i < 5; i += 1) assert.equal((await join('slow')).status, 'waiting');

  for (const lang of ['en', 'ko']) {
    const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': lang } });
    try {
      const page = await browser.page();
      await page.goto(`${PUBLIC}/wait/slow?lang=${lang}`);
      await state(page, 'waiting');
      const ticket = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.includes('slow'))?.[1]);
      assert.ok(ticket, 'the page keeps its ticket');
      const mine = await statusOf('slow', ticket);
      assert.equal(mine.status, 'waiting');
      const [low, high] = mine.etaRange;
      assert.ok(low <= mine.etaSeconds && mine.etaSeconds <= high, JSON.stringify(mine));
      const eta = (await page.locator('[data-vwr="eta"]').textContent()).trim();
      const range = lang === 'en' ? /^about (\d+)–(\d+) minutes$/ : /^약 (\d+)–(\d+)분$/;
      const m = eta.match(range);
      assert.ok(m, `the page shows a range: "${eta}"`);
      // The minutes hold the API's range: from its low end (rounded down) to its high end (up).
      assert.equal(Number(m[1]), Math.max(1, Math.floor(low / 60)), eta);
      assert.equal(Number(m[2]), Math.ceil(high / 60), eta);
      assert.ok(Number(m[1]) < Number(m[2]));
      assert.match(await page.locator('#vwr-live').textContent(), lang === 'en' ? /Estimated wait: about \d+–\d+ minutes/ : /약 \d+–\d+분/);
      await shot(page, `leave-line-range-${lang}`);

      const before = await queueSize('slow');
      await page.getByRole('button', { name: lang === 'en' ? 'Leave the line' : '줄에서 나가기' }).click();
      await state(page, 'left');
      assert.match(await page.locator('#vwr-live').textContent(), lang === 'en' ? /You have left the line/ : /줄에서 나왔습니다/);
      assert.equal(await queueSize('slow'), before - 1, 'the place left the line at once');
      assert.equal((await statusOf('slow', ticket)).status, 'expired', 'the ticket is spent');
      await shot(page, `leave-line-left-${lang}`);

      // Joining again goes to the back, with a new ticket.
      await page.getByRole('button', { name: lang === 'en' ? 'Join the line again' : '다시 줄 서기' }).click();
      await state(page, 'waiting');
      const again = await page.evaluate(() => Object.entries(localStorage).find(([k]) => k.includes('slow'))?.[1]);
      assert.notEqual(again, ticket);
      const back = await statusOf('slow', again);
      assert.ok(back.position > mine.position, `behind where it was: ${back.position} > ${mine.position}`);
      assert.deepEqual(browser.problems, []);
    } finally {
      await browser.close();
    }
  }
});
