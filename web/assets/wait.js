// The waiting page (/wait/{room}): takes a place in line, shows it as it moves, and goes to the
// page's return URL once admitted. The ticket is kept in localStorage by room, so a reload (or a
// language switch) never costs the place. The server has already checked the return URL.

import { Waiter, formatEtaRange, formatNumber, statusText, text } from '../sdk/vwr.js';

const MESSAGE_REFRESH_MS = 60000;

const main = document.getElementById('vwr-wait');
const room = main.dataset.room;
const returnUrl = main.dataset.return || '/';
const lang = document.documentElement.lang === 'ko' ? 'ko' : 'en';

const $ = (selector) => main.querySelector(selector);
const live = $('#vwr-live');
const progress = $('#vwr-progress');
const retryButton = $('#vwr-retry');
const rejoinButton = $('#vwr-rejoin');
const continueLink = $('#vwr-continue');
const leaveButton = $('#vwr-leave');
const message = $('#vwr-message');

for (const link of document.querySelectorAll('[data-lang]')) {
  if (link.dataset.lang === lang) link.setAttribute('aria-current', 'true');
}

function setAll(name, value) {
  for (const el of main.querySelectorAll(`[data-vwr="${name}"]`)) el.textContent = value;
}

// The live region is read out by screen readers: change it only when what it says changes.
function announce(words) {
  if (live && live.textContent !== words) live.textContent = words;
}

let countdown = null;
let lastUpdate = 0;

function show(u) {
  lastUpdate = Date.now();
  main.dataset.state = u.state;
  // How the page last heard of its place: 'join', 'stream' (the ticket's event stream) or 'poll'.
  if (u.channel) main.dataset.channel = u.channel;
  clearInterval(countdown);
  countdown = null;

  if (u.state === 'waiting' || u.state === 'paused' || (u.state === 'closed' && u.position > 0)) {
    setAll('position', formatNumber(lang, u.position));
    setAll('people_ahead', formatNumber(lang, u.peopleAhead));
  }
  if (u.state === 'waiting') setAll('eta', formatEtaRange(lang, u.etaSeconds, u.etaRange));
  if (u.state === 'paused' || u.state === 'closed') setAll('eta', text(lang, 'eta_unknown'));
  if (progress && u.progress !== undefined) {
    const value = Math.round(u.progress);
    progress.value = value;
    progress.textContent = `${value}%`;
  }
  if (u.state !== 'network') {
    const time = main.querySelector('[data-vwr="updated"]');
    if (time) {
      time.dateTime = u.updatedAt.toISOString();
      time.textContent = u.updatedAt.toLocaleTimeString(lang === 'ko' ? 'ko-KR' : 'en-US');
    }
  }

  if (retryButton) retryButton.hidden = u.state !== 'network';
  if (rejoinButton) rejoinButton.hidden = u.state !== 'expired';
  if (continueLink) continueLink.hidden = u.state !== 'admitted';
  // Only a place in line can be given back.
  if (leaveButton) {
    leaveButton.hidden = !['loading', 'joining', 'waiting', 'paused', 'closed', 'network'].includes(u.state);
  }

  if (u.state === 'network') {
    // Count down to the next try, in whole seconds.
    const until = Date.now() + (u.retryInMs ?? 1000);
    const tick = () => announce(statusText(lang, { state: 'network', retryInMs: until - Date.now() }));
    tick();
    countdown = setInterval(tick, 1000);
  } else {
    announce(statusText(lang, u));
  }

  if (u.state === 'admitted') {
    // The admission cookie (if the server sets one) came with this answer; the return URL was
    // checked by the server. replace(): the back button should not lead into the line again.
    location.replace(returnUrl);
  }
}

let waiter = null;
let leaving = false;

function startWaiting() {
  waiter = new Waiter(room, { storage: 'local', onExpired: 'wait', onUpdate: show });
  waiter.start().catch(() => {
    /* not_found and errors are shown by show(); leaving by the leave button */
  });
}

retryButton?.addEventListener('click', () => waiter.retryNow());
rejoinButton?.addEventListener('click', () => {
  rejoinButton.hidden = true;
  if (main.dataset.state === 'left') {
    // A new place, at the back of the line: the one given back is gone for good.
    leaving = false;
    startWaiting();
  } else {
    waiter.rejoin();
  }
});
// Leaving the line gives the place back at once: the people behind move up, and it takes no
// slot when its turn would have come.
leaveButton?.addEventListener('click', async () => {
  if (leaving) return;
  leaving = true;
  leaveButton.disabled = true;
  await waiter.leave();
  leaveButton.disabled = false;
  show({ state: 'left', updatedAt: new Date() });
  if (rejoinButton) rejoinButton.hidden = false;
});

// A phone that slept may have frozen the timers: look again as soon as the page is seen.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && Date.now() - lastUpdate > 5000 && !leaving) waiter.retryNow();
});

// The operator's message line may change while people wait.
async function refreshMessage() {
  try {
    const res = await fetch(`/wait/${encodeURIComponent(room)}/message`, { cache: 'no-store' });
    if (res.ok) {
      const data = await res.json();
      if (message && typeof data.message === 'string' && message.textContent !== data.message) {
        message.textContent = data.message;
      }
    }
  } catch {
    /* try again next time */
  }
}
setInterval(refreshMessage, MESSAGE_REFRESH_MS * (0.9 + Math.random() * 0.2));

startWaiting();
