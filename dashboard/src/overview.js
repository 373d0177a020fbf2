// Overview: the traffic of the last 15 minutes, refreshed every second, for the whole gateway or
// one service or route (#/overview/route:NAME); the routes with the most traffic and errors.
import { api, ApiError } from './api.js';
import { el, formatNumber, percent } from './dom.js';
import { timeChart } from './charts.js';

const RECENT = 10;  // the cards: the last ten seconds

function sum(list, from) { return list.slice(from).reduce((a, b) => a + b, 0); }

function lastValue(list) {
  for (let i = list.length - 1; i >= 0; i--) if (list[i] !== null) return list[i];
  return null;
}

export function mount(main, params) {
  const scope = params[0] || '';
  const scopeName = scope === '' ? 'All traffic' : scope === 'unmatched' ? 'Requests that matched no route' : scope.replace(':', ' ');
  const cards = {
    rps: el('output', { id: 'card-rps' }, '–'),
    errors: el('output', { id: 'card-errors' }, '–'),
    latency: el('output', { id: 'card-latency' }, '–'),
    connections: el('output', { id: 'card-connections' }, '–'),
  };
  const card = (label, output, hint) => el('div', { class: 'card' }, el('span', { class: 'label' }, label), output,
    el('span', { class: 'hint' }, hint));
  const picker = el('select', { id: 'scope', 'aria-label': 'Traffic shown' }, el('option', { value: '' }, 'All traffic'));
  picker.addEventListener('change', () => { location.hash = `#/overview/${encodeURIComponent(picker.value)}`; });
  const chartBoxes = [el('div', { class: 'chart', id: 'chart-requests' }), el('div', { class: 'chart', id: 'chart-latency' })];
  if (scope === '') chartBoxes.push(el('div', { class: 'chart', id: 'chart-connections' }));
  const byTraffic = el('tbody'), byErrors = el('tbody');
  const status = el('p', { class: 'muted', role: 'status' });
  main.append(
    el('div', { class: 'heading' }, el('h1', {}, scopeName), el('label', { class: 'picker' }, 'Show ', picker)),
    el('section', { class: 'cards', 'aria-label': 'The last ten seconds' },
      card('Requests/s', cards.rps, `last ${RECENT} s`),
      card('Errors', cards.errors, '4xx / 5xx, share of requests'),
      card('Latency', cards.latency, 'p50 / p95 / p99, last second with traffic'),
      card('Connections', cards.connections, 'open client connections')),
    el('section', { class: 'charts', 'aria-label': 'The last 15 minutes' }, chartBoxes),
    el('section', { class: 'tables' },
      topTable('Top routes by traffic', 'top-traffic', byTraffic),
      topTable('Top routes by errors', 'top-errors', byErrors)),
    status);

  const charts = [
    timeChart(chartBoxes[0], 'Requests per second', [{ label: 'all' }, { label: '4xx' }, { label: '5xx' }]),
    timeChart(chartBoxes[1], 'Latency (ms)', [{ label: 'p50' }, { label: 'p95' }, { label: 'p99' }], { unit: ' ms' }),
  ];
  if (scope === '') charts.push(timeChart(chartBoxes[2], 'Open connections', [{ label: 'connections' }]));

  let stopped = false;
  async function refresh() {
    try {
      const [traffic, top, info] = await Promise.all([
        api(`/dashboard/api/traffic?scope=${encodeURIComponent(scope)}`),
        api('/dashboard/api/top'),
        scope === '' ? null : api('/dashboard/api/info'),
      ]);
      if (stopped) return;
      status.textContent = '';
      showTraffic(traffic, info);
      showTop(top);
    } catch (error) {
      if (stopped) return;
      status.textContent = error instanceof ApiError && error.status === 404
        ? `No traffic recorded for ${scopeName} in the last 15 minutes.`
        : `Could not read the traffic: ${error.message}`;
    }
  }

  function showTraffic(t, info) {
    const time = t.time || [];
    if (time.length === 0) return;
    const from = Math.max(0, time.length - RECENT);
    const requests = sum(t.requests, from);
    cards.rps.textContent = formatNumber(requests / Math.min(RECENT, time.length), 1);
    cards.errors.textContent = `${percent(sum(t.client_errors, from), requests)} / ${percent(sum(t.server_errors, from), requests)}`;
    const p = [t.p50, t.p95, t.p99].map(lastValue);
    cards.latency.textContent = p[0] === null ? '–' : p.map((v) => `${formatNumber(v, 1)}`).join(' / ') + ' ms';
    cards.connections.textContent = t.connections ? formatNumber(t.connections[t.connections.length - 1])
      : info ? formatNumber(info.connections_active) : '–';
    charts[0].update([time, t.requests, t.client_errors, t.server_errors]);
    charts[1].update([time, t.p50, t.p95, t.p99]);
    if (t.connections) charts[2].update([time, t.connections]);
  }

  function showTop(top) {
    const routes = top.routes || [];
    fillTop(byTraffic, [...routes].sort((a, b) => b.requests_1m - a.requests_1m).filter((r) => r.requests_1m > 0));
    const errors = (r) => r.client_errors_1m + r.server_errors_1m;
    fillTop(byErrors, [...routes].sort((a, b) => errors(b) - errors(a)).filter((r) => errors(r) > 0));
    const wanted = ['', ...(top.services || []).map((s) => `service:${s.name}`), ...routes.map((r) => `route:${r.name}`)];
    if (top.unmatched) wanted.push('unmatched');
    if (scope && !wanted.includes(scope)) wanted.push(scope);
    const have = [...picker.options].map((o) => o.value);
    if (wanted.join('\n') !== have.join('\n')) {
      picker.replaceChildren(...wanted.map((value) => el('option', { value, selected: value === scope },
        value === '' ? 'All traffic' : value === 'unmatched' ? 'No route matched' : value.replace(':', ': '))));
    }
  }

  refresh();
  const timer = setInterval(refresh, 1000);
  return () => {
    stopped = true;
    clearInterval(timer);
    charts.forEach((c) => c.destroy());
  };
}

function topTable(title, id, body) {
  return el('div', { class: 'table-box' }, el('h2', { id: `${id}-title` }, title),
    el('table', { id, 'aria-labelledby': `${id}-title` },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Route'), el('th', { scope: 'col', class: 'num' }, 'Requests/s'),
        el('th', { scope: 'col', class: 'num' }, '4xx'), el('th', { scope: 'col', class: 'num' }, '5xx'),
        el('th', { scope: 'col', class: 'num' }, 'p99'))),
      body));
}

// Rows are kept by route and updated in place: a link being clicked is not replaced under the
// pointer by the next refresh.
function fillTop(body, rows) {
  if (rows.length === 0) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'Nothing in the last minute.')));
    return;
  }
  const kept = new Map([...body.querySelectorAll('tr[data-route]')].map((tr) => [tr.dataset.route, tr]));
  body.replaceChildren(...rows.slice(0, 10).map((r) => {
    const cells = [formatNumber(r.requests_1m / 60, 2), formatNumber(r.client_errors_1m), formatNumber(r.server_errors_1m),
      r.p99_ms === null ? '–' : `${formatNumber(r.p99_ms, 1)} ms`];
    let tr = kept.get(r.name);
    if (!tr) {
      tr = el('tr', { 'data-route': r.name },
        el('td', {}, el('a', { href: `#/overview/${encodeURIComponent(`route:${r.name}`)}` }, r.name)),
        cells.map(() => el('td', { class: 'num' })));
    }
    cells.forEach((text, i) => { tr.cells[i + 1].textContent = text; });
    return tr;
  }));
}
