// The demo landing page: a protected "book now" button that goes through the waiting room with
// the SDK (and its overlay), then calls the protected endpoint with the admission token.

import { enter, leave, text, formatNumber } from '../sdk/vwr.js';

const main = document.getElementById('vwr-demo');
const room = main.dataset.room;
const lang = document.documentElement.lang === 'ko' ? 'ko' : 'en';
const bookButton = document.getElementById('demo-book');
const leaveButton = document.getElementById('demo-leave');
const result = document.getElementById('demo-result');

for (const link of document.querySelectorAll('[data-lang]')) {
  if (link.dataset.lang === lang) link.setAttribute('aria-current', 'true');
}

function say(words, state) {
  result.textContent = words;
  result.dataset.state = state;
  main.dataset.state = state;
}

let busy = false;
bookButton.addEventListener('click', async () => {
  // aria-disabled rather than disabled: the overlay gives the focus back to this button.
  if (busy) return;
  busy = true;
  bookButton.setAttribute('aria-disabled', 'true');
  say(text(lang, 'demo_booking'), 'booking');
  try {
    const token = await enter(room, { overlay: true, lang });
    const res = await fetch('/demo/book', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      cache: 'no-store',
    });
    const data = await res.json().catch(() => null);
    if (res.ok && data?.booking) {
      say(text(lang, 'demo_booked', { code: data.booking }), 'booked');
    } else {
      say(text(lang, 'demo_failed', { reason: data?.error?.message ?? res.status }), 'failed');
    }
  } catch (e) {
    if (e?.code === 'cancelled') {
      say(text(lang, 'demo_cancelled'), 'cancelled');
    } else {
      say(text(lang, 'demo_failed', { reason: e?.message ?? String(e) }), 'failed');
    }
  } finally {
    busy = false;
    bookButton.removeAttribute('aria-disabled');
  }
});

leaveButton.addEventListener('click', async () => {
  try {
    await leave(room);
    say(text(lang, 'demo_left'), 'left');
  } catch (e) {
    say(text(lang, 'demo_failed', { reason: e?.message ?? String(e) }), 'failed');
  }
  refreshRoom();
});

// The room's figures, as a newcomer would see them.
async function refreshRoom() {
  try {
    const res = await fetch(`/api/v1/rooms/${encodeURIComponent(room)}`, { cache: 'no-store' });
    if (!res.ok) return;
    const info = await res.json();
    const set = (name, value) => {
      const el = main.querySelector(`[data-demo="${name}"]`);
      if (el) el.textContent = formatNumber(lang, value);
    };
    set('active', info.active);
    set('max_active', info.maxActive);
    set('queue', info.queueSize);
  } catch {
    /* shown again at the next refresh */
  }
}

refreshRoom();
setInterval(refreshRoom, 2000);
