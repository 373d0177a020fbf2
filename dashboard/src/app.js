// The dashboard's shell: the views by URL fragment (#/overview), the node's identity in the bar,
// the sign-in dialog when the Admin API asks for its token.
import { api, onTokenNeeded, setToken } from './api.js';
import * as overview from './overview.js';
import * as entities from './entities.js';
import * as health from './health.js';
import { el, ago, shortHash } from './dom.js';

const views = { overview, entities, health };
let unmount = null;

function route() {
  const decode = (part) => { try { return decodeURIComponent(part); } catch { return part; } };  // a hand-typed '%'
  const [name, ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decode);
  const view = views[name] ? name : 'overview';
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (unmount) unmount();
  const main = document.getElementById('main');
  main.replaceChildren();
  // A view may return its clean-up (timers, charts); views that load once return nothing (or a
  // promise: what they append after navigation goes to elements no longer in the page).
  const cleanUp = views[view].mount(main, params);
  unmount = typeof cleanUp === 'function' ? cleanUp : null;
}

// Resolves once the user has given a token (the dialog cannot be dismissed without one).
function askForToken(problem) {
  const dialog = document.getElementById('login');
  const form = document.getElementById('login-form');
  const input = document.getElementById('login-token');
  document.getElementById('login-error').textContent = problem;
  return new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      setToken(input.value);
      input.value = '';
      dialog.close();
      resolve();
    };
    dialog.oncancel = (event) => event.preventDefault();
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}
// Several calls may be refused at once: one dialog for all of them.
let pendingToken = null;
onTokenNeeded((problem) => {
  if (!pendingToken) pendingToken = askForToken(problem).finally(() => { pendingToken = null; });
  return pendingToken;
});

async function showNode() {
  const node = document.getElementById('node');
  const banner = document.getElementById('banner');
  try {
    const info = await api('/dashboard/api/info');
    const activated = info.configuration_activated_at ? ago(info.configuration_activated_at) : 'never';
    const db = info.database.strategy === 'off' ? 'DB-less' : `${info.database.strategy}${info.database.reachable ? '' : ' (unreachable)'}`;
    node.replaceChildren(
      el('span', { title: `node ${info.node_id}` }, info.hostname),
      el('span', {}, `v${info.version}`),
      el('span', { title: `configuration ${info.configuration_hash}`, id: 'config-version' },
        `config ${shortHash(info.configuration_hash)}${info.database.revision === null ? '' : ` (revision ${info.database.revision})`}, ${activated}`),
      el('span', { class: info.database.reachable ? '' : 'bad' }, db));
    banner.hidden = !info.read_only;
    banner.textContent = info.read_only || '';
  } catch (error) {
    node.replaceChildren(el('span', { class: 'bad' }, `Admin API: ${error.message}`));
  }
}

window.addEventListener('hashchange', route);
route();
showNode();
setInterval(showNode, 5000);
