// Health and protection: each upstream's targets and their health, the circuit breakers, what
// rate limiting decided per route, what the cache saves per route (and its purge buttons), the
// JWKS key sets, and the cluster's nodes. Refreshed every two seconds.
import { api, ApiError } from './api.js';
import { el, ago, formatNumber, percent } from './dom.js';
import { fetchAll } from './entities.js';

const REFRESH_MS = 2000;

function section(title, id, ...children) {
  return el('section', { class: 'panel', id, 'aria-labelledby': `${id}-title` }, el('h2', { id: `${id}-title` }, title), ...children);
}

function table(headers, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'muted' }, empty);
  return el('div', { class: 'table-scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, headers.map(([h, cls]) => el('th', { scope: 'col', class: cls }, h)))),
    el('tbody', {}, rows)));
}

function badge(state) {
  const good = ['HEALTHY', 'closed', 'connected'], bad = ['UNHEALTHY', 'DNS_ERROR', 'open', 'disconnected'];
  const cls = good.includes(state) ? 'badge good' : bad.includes(state) ? 'badge bad' : 'badge';
  return el('span', { class: cls }, state);
}

// Counter samples by route: {route: {label value: n}}.
function byRoute(samples, label) {
  const out = Object.create(null);  // route names are the user's: no inherited keys
  for (const s of samples || []) (out[s.route || '(none)'] ||= Object.create(null))[s[label]] = s.value;
  return out;
}

// Health is asked per upstream: at most this many are shown (a refresh is one call each).
const MAX_UPSTREAMS = 50;

async function upstreamsPanel() {
  const all = await fetchAll('upstreams');
  const upstreams = all.slice(0, MAX_UPSTREAMS);
  const blocks = await Promise.all(upstreams.map(async (u) => {
    const health = await api(`/upstreams/${encodeURIComponent(u.id)}/health`).catch(() => ({ data: [] }));
    const checks = [];
    if (u.healthchecks?.active?.healthy?.interval > 0 || u.healthchecks?.active?.unhealthy?.interval > 0) checks.push('active');
    const passive = u.healthchecks?.passive?.unhealthy || {};
    if (passive.tcp_failures > 0 || passive.http_failures > 0 || passive.timeouts > 0) checks.push('passive');
    const rows = (health.data || []).map((t) => el('tr', { 'data-target': t.target },
      el('td', {}, t.target), el('td', { class: 'num' }, t.weight), el('td', {}, badge(t.health)),
      el('td', {}, (t.data?.addresses || []).map((a) => el('span', { class: 'address' }, `${a.ip}:${a.port} `, badge(a.health))))));
    return el('div', { class: 'upstream', 'data-upstream': u.name },
      el('h3', {}, el('a', { href: `#/entities/upstreams/${encodeURIComponent(u.id)}` }, u.name),
        el('span', { class: 'muted' }, ` ${u.algorithm}, checks: ${checks.length ? checks.join(' + ') : 'off'}`)),
      table([['Target'], ['Weight', 'num'], ['Health'], ['Addresses']], rows, 'No targets.'));
  }));
  if (all.length > upstreams.length) {
    blocks.push(el('p', { class: 'muted' }, `The first ${upstreams.length} of ${all.length} upstreams; each one's page under Entities shows its targets.`));
  }
  return blocks.length ? blocks : [el('p', { class: 'muted' }, 'No upstreams.')];
}

async function breakersPanel() {
  const breakers = (await api('/circuit-breakers').catch(() => ({ data: [] }))).data || [];
  const rows = breakers.map((b) => el('tr', {}, el('td', {}, b.scope), el('td', {}, badge(b.state)),
    el('td', { class: 'num' }, formatNumber(b.times_opened)), el('td', { class: 'num' }, formatNumber(b.rejected))));
  return table([['Scope'], ['State'], ['Times opened', 'num'], ['Rejected', 'num']], rows, 'No circuit-breaker plugin configured.');
}

function rateLimitPanel(counters) {
  const routes = byRoute(counters.portico_rate_limiting_decisions_total, 'decision');
  const rows = Object.entries(routes).sort().map(([route, d]) => {
    const limited = (d.limited || 0) + (d.undecided_refused || 0);
    const total = Object.values(d).reduce((a, b) => a + b, 0);
    return el('tr', { 'data-route': route }, el('td', {}, route), el('td', { class: 'num' }, formatNumber(d.allowed || 0)),
      el('td', { class: 'num' }, formatNumber(limited)), el('td', { class: 'num' }, percent(limited, total)),
      el('td', { class: 'num' }, formatNumber((d.undecided_allowed || 0) + (d.undecided_refused || 0))));
  });
  return table([['Route'], ['Allowed', 'num'], ['Refused (429)', 'num'], ['Refused share', 'num'], ['Undecided (Redis)', 'num']],
    rows, 'No rate limiting decision since start.');
}

function cacheTable(counters) {
  const routes = byRoute(counters.portico_proxy_cache_responses_total, 'cache_status');
  const rows = Object.entries(routes).sort().map(([route, s]) => {
    const hits = s.Hit || 0, lookups = hits + (s.Miss || 0) + (s.Refresh || 0) + (s.Stale || 0);
    return el('tr', { 'data-route': route }, el('td', {}, route), el('td', { class: 'num' }, formatNumber(hits)),
      el('td', { class: 'num' }, formatNumber(s.Miss || 0)), el('td', { class: 'num' }, formatNumber(s.Bypass || 0)),
      el('td', { class: 'num hit-ratio' }, percent(hits, lookups)));
  });
  return table([['Route'], ['Hits', 'num'], ['Misses', 'num'], ['Bypassed', 'num'], ['Hit ratio', 'num']], rows,
    'No proxy-cache answer since start.');
}

// The purge controls: made once (the refresh redraws only the table above them).
function purgeControls(onPurged) {
  const result = el('span', { role: 'status', class: 'muted', id: 'purge-result' });
  const purgeAll = el('button', { type: 'button', id: 'purge-all' }, 'Purge the whole cache');
  purgeAll.addEventListener('click', async () => {
    if (!window.confirm('Remove every cached answer?')) return;
    try {
      await api('/proxy-cache', { method: 'DELETE' });
      result.textContent = 'Purged.';
      onPurged();
    } catch (error) { result.textContent = `Not purged: ${error.message}`; }
  });
  const path = el('input', { type: 'text', id: 'purge-path', placeholder: '/products/101 or /products/*', 'aria-label': 'Path to purge' });
  const purgePath = el('button', { type: 'button', id: 'purge-path-button' }, 'Purge path');
  purgePath.addEventListener('click', async () => {
    const p = path.value.trim().replace(/^\/+/, '');
    if (!p) return;
    try {
      const answer = await api(`/cache/purge/${p.split('/').map(encodeURIComponent).join('/').replace(/%2A$/, '*')}`, { method: 'POST' });
      result.textContent = `Purged ${answer.purged} answer(s).`;
      onPurged();
    } catch (error) { result.textContent = `Not purged: ${error.message}`; }
  });
  return el('div', { class: 'filters' }, path, purgePath, purgeAll, result);
}

async function jwksPanel() {
  const sets = (await api('/jwks').catch(() => ({ data: [] }))).data || [];
  const rows = sets.map((s) => el('tr', {}, el('td', {}, s.uri), el('td', {}, s.keys.map((k) => `${k.kid || '(no kid)'} ${k.alg}`).join(', ') || '–'),
    el('td', {}, s.last_refresh ? ago(s.last_refresh) : 'never'),
    el('td', { class: s.last_error ? 'bad' : '' }, s.last_error || 'ok')));
  return table([['JWKS URI'], ['Keys'], ['Last refresh'], ['Last error']], rows, 'No jwt plugin with a jwks_uri.');
}

async function clusterPanel(info) {
  if (info.cluster?.role === 'control_plane') {
    const planes = (await api('/clustering/data-planes')).data || [];
    const rows = planes.map((p) => el('tr', {}, el('td', {}, p.hostname), el('td', {}, p.ip), el('td', {}, p.version),
      el('td', {}, (p.config_hash || '').slice(0, 8)), el('td', {}, badge(p.connected ? 'connected' : 'disconnected')),
      el('td', {}, p.last_seen ? ago(p.last_seen) : '–')));
    return table([['Data plane'], ['Address'], ['Version'], ['Config'], ['State'], ['Last seen']], rows, 'No data plane has connected.');
  }
  const db = info.database;
  if (db.strategy === 'postgres') {
    const nodes = (await api('/clustering/nodes')).data || [];
    const now = Date.now() / 1000;
    // The store revision is the configuration's version on every node (hashes follow each
    // node's own history of changes).
    const revisions = new Set(nodes.filter((n) => now - n.last_seen < 60).map((n) => n.revision));
    const rows = nodes.map((n) => el('tr', { 'data-node': n.node_id }, el('td', {}, n.hostname, n.this_node ? ' (this node)' : ''),
      el('td', {}, n.version), el('td', { title: n.config_hash }, n.config_hash.slice(0, 8)), el('td', { class: 'num' }, n.revision),
      el('td', {}, badge(now - n.last_seen < 60 ? 'connected' : 'disconnected')), el('td', {}, ago(n.last_seen))));
    return [el('p', { class: 'muted' }, revisions.size > 1 ? 'The nodes serve different configurations (a change is on its way, or a node is behind).'
      : 'Nodes sharing this PostgreSQL database, from their heartbeats.'),
    table([['Node'], ['Version'], ['Config'], ['Revision', 'num'], ['State'], ['Last seen']], rows, 'No node has reported yet.')];
  }
  return el('p', {}, `A single node (${db.strategy === 'off' ? 'DB-less' : db.strategy}).`);
}

export function mount(main) {
  const panels = {
    upstreams: el('div', { id: 'upstreams-body' }), breakers: el('div'), ratelimit: el('div'), cache: el('div'),
    jwks: el('div'), cluster: el('div'),
  };
  const purging = purgeControls(() => refresh());
  const status = el('p', { role: 'status', class: 'muted' });
  main.append(el('div', { class: 'heading' }, el('h1', {}, 'Health and protection')), status,
    section('Upstreams and targets', 'health-upstreams', panels.upstreams),
    el('div', { class: 'panel-grid' },
      section('Circuit breakers', 'health-breakers', panels.breakers),
      section('Rate limiting', 'health-ratelimit', panels.ratelimit),
      section('Cache', 'health-cache', panels.cache, purging),
      section('JWKS key sets', 'health-jwks', panels.jwks),
      section('Cluster', 'health-cluster', panels.cluster)));
  let stopped = false, busy = false;
  async function refresh() {
    if (busy || stopped) return;
    busy = true;
    try {
      const [counters, info] = await Promise.all([api('/dashboard/api/counters'), api('/dashboard/api/info')]);
      const [upstreams, breakers, jwks, cluster] = await Promise.all([upstreamsPanel(), breakersPanel(), jwksPanel(), clusterPanel(info)]);
      if (stopped) return;
      panels.upstreams.replaceChildren(...upstreams);
      panels.breakers.replaceChildren(breakers);
      panels.ratelimit.replaceChildren(rateLimitPanel(counters));
      panels.cache.replaceChildren(cacheTable(counters));
      panels.jwks.replaceChildren(jwks);
      panels.cluster.replaceChildren(...[cluster].flat());
      status.textContent = '';
    } catch (error) {
      if (!stopped) status.textContent = `Could not read the gateway's state: ${error instanceof ApiError ? error.message : error}`;
    } finally {
      busy = false;
    }
  }
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return () => { stopped = true; clearInterval(timer); };
}
