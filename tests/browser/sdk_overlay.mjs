// The SDK from the demo page: "book now" while the room is full opens the waiting overlay with
// the place in line; when a slot frees the overlay closes by itself and the page shows the
// booking made with the admission token. Cancelling (Escape) gives the place up.

import {
  assert, checkAccessibility, join, leave, openBrowser, PUBLIC, run, shot,
} from './lib.mjs';

const ROOM = 'line';

await run('sdk overlay', async () => {
  const holder = await join(ROOM);
  assert.equal(holder.status, 'admitted');

  const browser = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': 'en' } });
  try {
    const page = await browser.page();
    await page.goto(`${PUBLIC}/`);
    await checkAccessibility(page, 'demo-en');
    const book = page.getByRole('button', { name: 'Book now' });
    await book.click();

    // The room is full: the overlay shows the place in line.
    const dialog = page.getByRole('dialog', { name: 'Please wait' });
    await dialog.waitFor();
    assert.equal(await dialog.getAttribute('aria-modal'), 'true');
    const position = dialog.locator('[data-v="position"]');
    await page.waitForFunction(() => {
      const host = document.querySelector('[data-vwr-overlay]');
      const el = host?.shadowRoot?.querySelector('[data-v="position"]');
      return el && /^[1-9]/.test(el.textContent);
    });
    assert.equal(await position.textContent(), '1');
    assert.match(await dialog.getByRole('status').textContent(), /You are number 1 in line/);
    // The keyboard stays in the dialog, which has the focus.
    assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-vwr-overlay')), true);
    // Korean on request, in place.
    await dialog.getByRole('button', { name: /한국어/ }).click();
    await page.getByRole('dialog', { name: '잠시만 기다려 주세요' }).waitFor();
    await shot(page, 'sdk-overlay-ko', { fullPage: false });
    await checkAccessibility(page, 'sdk-overlay-ko');
    await page.getByRole('dialog').getByRole('button', { name: /English/ }).click();
    await shot(page, 'sdk-overlay-en', { fullPage: false });
    await checkAccessibility(page, 'sdk-overlay-en');

    // A slot frees: the overlay closes and the protected endpoint confirms the booking.
    await leave(ROOM, holder.token);
    await dialog.waitFor({ state: 'detached', timeout: 15000 });
    const result = page.locator('#demo-result');
    await page.waitForFunction(() => document.querySelector('#demo-result').dataset.state === 'booked');
    assert.match(await result.textContent(), /^Booked! Your booking number is VWR-[0-9A-F]{6}\.$/);
    await shot(page, 'sdk-booked-en');
    await checkAccessibility(page, 'sdk-booked-en');

    // The browser now holds the only slot: a second visitor waits, then cancels with Escape.
    const other = await openBrowser({ extraHTTPHeaders: { 'Accept-Language': 'ko' } });
    try {
      const second = await other.page();
      await second.goto(`${PUBLIC}/`);
      await checkAccessibility(second, 'demo-ko');
      await second.getByRole('button', { name: '지금 예매하기' }).click();
      const waiting = second.getByRole('dialog', { name: '잠시만 기다려 주세요' });
      await waiting.waitFor();
      await second.waitForFunction(() =>
        sessionStorage.getItem('vwr:line:ticket') !== null &&
        document.querySelector('[data-vwr-overlay]')?.shadowRoot?.querySelector('.dialog')?.dataset.state === 'waiting');
      await second.keyboard.press('Escape');
      await waiting.waitFor({ state: 'detached' });
      await second.waitForFunction(() => document.querySelector('#demo-result').dataset.state === 'cancelled');
      assert.equal(await second.locator('#demo-result').textContent(), '대기를 취소했습니다.');
      assert.equal(await second.evaluate(() => sessionStorage.getItem('vwr:line:ticket')), null);
      // Focus went back to the button that opened the overlay.
      assert.equal(await second.evaluate(() => document.activeElement?.id), 'demo-book');
      assert.deepEqual(other.problems, []);
    } finally {
      await other.close();
    }

    // Leaving frees the slot for the next person.
    await page.getByRole('button', { name: /Leave/ }).click();
    await page.waitForFunction(() => document.querySelector('#demo-result').dataset.state === 'left');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('vwr:line:token')), null);
    assert.deepEqual(browser.problems, []);
  } finally {
    await browser.close();
  }
});
