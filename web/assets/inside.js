// The demo's protected page (/demo/inside): in a room with a cap on time inside
// (rooms[].session_max), the SDK shows how long the session has left and warns before its end,
// from what the admission answer said and the heartbeats it sends meanwhile.

import { watchSession } from '../sdk/vwr.js';

const main = document.getElementById('vwr-inside');
const lang = document.documentElement.lang === 'ko' ? 'ko' : 'en';

for (const link of document.querySelectorAll('[data-lang]')) {
  if (link.dataset.lang === lang) link.setAttribute('aria-current', 'true');
}

watchSession(main.dataset.room, {
  lang,
  onUpdate: (u) => {
    main.dataset.session = u.state;
  },
});
