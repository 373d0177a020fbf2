// Entities: Kong's entities as the Admin API lists them, with a search box and a tag filter,
// and each entity's page. Credentials and keys are never shown in clear.
import { api } from './api.js';
import { el, ago } from './dom.js';
import { schemaForm } from './schema_form.js';
import { HIDDEN, withoutSecrets } from './secrets.js';

const ref = (field) => (e) => (e[field] && e[field].id) || '';
const list = (field) => (e) => (e[field] || []).join(', ');

export const KINDS = [
  { path: 'services', title: 'Services', label: 'name',
    columns: [['Name', (e) => e.name || e.id], ['URL', (e) => `${e.protocol}://${e.host}${e.port ? `:${e.port}` : ''}${e.path || ''}`], ['Tags', list('tags')]] },
  { path: 'routes', title: 'Routes', label: 'name',
    columns: [['Name', (e) => e.name || e.id], ['Paths', list('paths')], ['Hosts', list('hosts')], ['Methods', list('methods')], ['Service', ref('service')]] },
  { path: 'upstreams', title: 'Upstreams', label: 'name',
    columns: [['Name', (e) => e.name], ['Algorithm', (e) => e.algorithm], ['Tags', list('tags')]] },
  { path: 'consumers', title: 'Consumers', label: 'username',
    columns: [['Username', (e) => e.username || ''], ['Custom id', (e) => e.custom_id || ''], ['Tags', list('tags')]] },
  { path: 'plugins', title: 'Plugins', label: 'name',
    columns: [['Plugin', (e) => e.name], ['Applies to', scopeOf], ['Enabled', (e) => (e.enabled ? 'yes' : 'no')], ['Tags', list('tags')]] },
  { path: 'certificates', title: 'Certificates', label: 'id',
    columns: [['Id', (e) => e.id], ['SNIs', list('snis')], ['Tags', list('tags')]] },
  { path: 'snis', title: 'SNIs', label: 'name', columns: [['Name', (e) => e.name], ['Certificate', ref('certificate')]] },
  { path: 'ca_certificates', title: 'CA certificates', label: 'id', columns: [['Id', (e) => e.id], ['Tags', list('tags')]] },
  { path: 'key-auths', title: 'Key-auth credentials', label: 'id', columns: [['Consumer', ref('consumer')], ['Key', () => HIDDEN], ['Tags', list('tags')]] },
  { path: 'jwts', title: 'JWT credentials', label: 'key', columns: [['Key (iss)', (e) => e.key], ['Algorithm', (e) => e.algorithm], ['Consumer', ref('consumer')]] },
  { path: 'basic-auths', title: 'Basic-auth credentials', label: 'username', columns: [['Username', (e) => e.username], ['Consumer', ref('consumer')]] },
  { path: 'acls', title: 'ACL groups', label: 'group', columns: [['Group', (e) => e.group], ['Consumer', ref('consumer')]] },
];

// The schema (GET /schemas/{name}) of each kind's entities.
const SCHEMA_NAME = { 'key-auths': 'keyauth_credentials', jwts: 'jwt_secrets', 'basic-auths': 'basicauth_credentials' };
const schemaName = (kind) => SCHEMA_NAME[kind.path] || kind.path;
const LABEL = { services: 'name', routes: 'name', upstreams: 'name', consumers: 'username', certificates: 'id' };

function scopeOf(e) {
  const parts = [['service', e.service], ['route', e.route], ['consumer', e.consumer]].filter(([, v]) => v).map(([k, v]) => `${k} ${v.id}`);
  return parts.length ? parts.join(', ') : 'global';
}

// Every page of a list (Kong's `next`), up to 20,000 entities.
export async function fetchAll(path, tags) {
  const rows = [];
  let next = `/${path}?size=1000${tags ? `&tags=${encodeURIComponent(tags)}` : ''}`;
  for (let page = 0; next && page < 20; page++) {
    const body = await api(next);
    rows.push(...(body.data || []));
    next = body.next || (body.offset ? `/${path}?size=1000&offset=${encodeURIComponent(body.offset)}${tags ? `&tags=${encodeURIComponent(tags)}` : ''}` : null);
  }
  return rows;
}

// Why entities cannot be changed here (DB-less), or null.
async function readOnlyReason() {
  try { return (await api('/dashboard/api/info')).read_only; } catch { return null; }
}

export function mount(main, params) {
  const kind = KINDS.find((k) => k.path === params[0]) || KINDS[0];
  if (params[1] === 'new') return editor(main, kind, null);
  if (params[1] && params[2] === 'edit') return editor(main, kind, params[1]);
  if (params[1]) return detail(main, kind, params[1]);
  const picker = el('select', { id: 'kind', 'aria-label': 'Entity' },
    KINDS.map((k) => el('option', { value: k.path, selected: k === kind }, k.title)));
  picker.addEventListener('change', () => { location.hash = `#/entities/${picker.value}`; });
  const search = el('input', { id: 'search', type: 'search', placeholder: 'Search', 'aria-label': 'Search' });
  const tags = el('input', { id: 'tags', type: 'search', placeholder: 'Tags: a,b (all) or a/b (any)', 'aria-label': 'Tags' });
  const body = el('tbody');
  const count = el('p', { class: 'muted', role: 'status', id: 'count' });
  const actions = el('div', { class: 'actions' });
  main.append(
    el('div', { class: 'heading' }, el('h1', {}, kind.title), el('label', { class: 'picker' }, 'Show ', picker)),
    el('div', { class: 'filters' }, search, tags, actions),
    el('div', { class: 'table-box' }, el('table', { id: 'entities' },
      el('thead', {}, el('tr', {}, kind.columns.map(([title]) => el('th', { scope: 'col' }, title)))), body)),
    count);

  let rows = [];
  const show = () => {
    const needle = search.value.trim().toLowerCase();
    const shown = needle ? rows.filter((r) => JSON.stringify(withoutSecrets(schemaName(kind), r)).toLowerCase().includes(needle)) : rows;
    body.replaceChildren(...shown.map((r) => el('tr', { 'data-id': r.id },
      kind.columns.map(([, value], i) => el('td', {}, i === 0
        ? el('a', { href: `#/entities/${kind.path}/${encodeURIComponent(r.id)}` }, value(r) || r.id) : value(r))))));
    count.textContent = `${shown.length} of ${rows.length} ${kind.title.toLowerCase()}`;
  };
  const load = async () => {
    try {
      rows = await fetchAll(kind.path, tags.value.trim());
      show();
    } catch (error) {
      body.replaceChildren();
      count.textContent = `Could not list ${kind.title.toLowerCase()}: ${error.message}`;
    }
  };
  readOnlyReason().then((reason) => {
    if (!reason) actions.append(el('a', { class: 'button primary', id: 'new', href: `#/entities/${kind.path}/new` }, `New ${singular(kind)}`));
  });
  search.addEventListener('input', show);
  let pending = null;
  tags.addEventListener('input', () => { clearTimeout(pending); pending = setTimeout(load, 300); });
  load();
  return () => clearTimeout(pending);
}

function valueText(value) {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'object') return JSON.stringify(value, null, 2);
  return String(value);
}

function singular(kind) { return kind.title.replace(/s$/, '').replace(/^([A-Z])([a-z])/, (m, a, b) => a.toLowerCase() + b); }

async function detail(main, kind, id) {
  const heading = el('h1', {}, kind.title.replace(/s$/, ''));
  const fields = el('dl', { class: 'fields', id: 'fields' });
  const actions = el('div', { class: 'actions' });
  const extra = el('div');
  const status = el('p', { role: 'status', class: 'muted' });
  main.append(el('p', {}, el('a', { href: `#/entities/${kind.path}` }, `← ${kind.title}`)),
    el('div', { class: 'heading' }, heading, actions), status, fields, extra);
  try {
    const [raw, reason] = await Promise.all([api(`/${kind.path}/${encodeURIComponent(id)}`), readOnlyReason()]);
    const entity = withoutSecrets(schemaName(kind), raw);
    heading.textContent = `${kind.title.replace(/s$/, '')} ${entity[kind.label] || entity.id}`;
    if (!reason) {
      const remove = el('button', { type: 'button', id: 'delete', class: 'danger' }, 'Delete');
      remove.addEventListener('click', async () => {
        if (!window.confirm(`Delete ${singular(kind)} ${entity[kind.label] || entity.id}?`)) return;
        try {
          await api(`/${kind.path}/${encodeURIComponent(entity.id)}`, { method: 'DELETE' });
          location.hash = `#/entities/${kind.path}`;
        } catch (error) {
          status.textContent = `Not deleted: ${error.message}`;
        }
      });
      actions.append(el('a', { class: 'button', id: 'edit', href: `#/entities/${kind.path}/${encodeURIComponent(entity.id)}/edit` }, 'Edit'), remove);
    }
    for (const [name, value] of Object.entries(entity)) {
      const shown = (name === 'created_at' || name === 'updated_at') && typeof value === 'number'
        ? `${new Date(value * 1000).toISOString()} (${ago(value)})` : valueText(value);
      fields.append(el('dt', {}, name), el('dd', {}, typeof value === 'object' && value !== null ? el('pre', {}, shown) : shown));
    }
    if (kind.path === 'upstreams') extra.append(await targetsOf(entity, !reason));
  } catch (error) {
    fields.replaceChildren(el('p', { class: 'bad' }, error.message));
  }
}

// An upstream's targets, with a form to add one and a button to remove each when writable.
async function targetsOf(upstream, writable) {
  const base = `/upstreams/${encodeURIComponent(upstream.id)}/targets`;
  const rows = await fetchAll(base.slice(1));
  const box = el('section', { id: 'targets' }, el('h2', {}, 'Targets'));
  const status = el('p', { role: 'status', class: 'muted' });
  const reload = async () => box.replaceWith(await targetsOf(upstream, writable));
  box.append(el('table', {},
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Target'), el('th', { scope: 'col', class: 'num' }, 'Weight'),
      writable ? el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Actions')) : null)),
    el('tbody', {}, rows.map((t) => {
      const remove = writable ? el('button', { type: 'button', class: 'danger', 'aria-label': `Remove target ${t.target}` }, 'Remove') : null;
      remove?.addEventListener('click', async () => {
        if (!window.confirm(`Remove target ${t.target}?`)) return;
        try { await api(`${base}/${encodeURIComponent(t.id)}`, { method: 'DELETE' }); await reload(); } catch (error) { status.textContent = error.message; }
      });
      return el('tr', { 'data-target': t.target }, el('td', {}, t.target), el('td', { class: 'num' }, t.weight), remove ? el('td', {}, remove) : null);
    }))), status);
  if (writable) {
    const generated = schemaForm(await api('/schemas/targets'), { only: ['target', 'weight', 'tags'], entity: 'targets' });
    const form = el('form', { class: 'entity-form', id: 'target-form', novalidate: true }, el('h3', {}, 'Add a target'),
      ...generated.nodes, el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', id: 'add-target' }, 'Add')));
    form.onsubmit = async (event) => {
      event.preventDefault();
      try { await api(base, { method: 'POST', body: generated.read() }); await reload(); } catch (error) { generated.showErrors(form, error.body); }
    };
    box.append(form);
  }
  return box;
}

// The references a schema's foreign keys can take: {services: [{id, label}], ...}.
async function foreignChoices(schema) {
  const wanted = new Set();
  const scan = (fields) => (fields || []).forEach((f) => {
    const [, spec] = Object.entries(f)[0];
    if (spec.type === 'foreign' && spec.eq !== null) wanted.add(spec.reference);
  });
  scan(schema.fields);
  const choices = {};
  await Promise.all([...wanted].map(async (reference) => {
    const path = reference === 'keyauth_credentials' ? 'key-auths' : reference;
    const rows = await fetchAll(path).catch(() => []);
    choices[reference] = rows.map((r) => ({ id: r.id, label: r[LABEL[reference] || 'name'] || r.username || r.id }));
  }));
  return choices;
}

// Create (id null) or edit an entity through a form generated from its schema; plugins first
// choose which plugin.
async function editor(main, kind, id) {
  const heading = el('h1', {}, id ? `Edit ${singular(kind)}` : `New ${singular(kind)}`);
  const form = el('form', { id: 'entity-form', class: 'entity-form', novalidate: true });
  const status = el('p', { role: 'status', class: 'muted' });
  main.append(el('p', {}, el('a', { href: `#/entities/${kind.path}${id ? `/${encodeURIComponent(id)}` : ''}` }, '← Back')),
    heading, status, form);
  const reason = await readOnlyReason();
  if (reason) { status.textContent = reason; return; }
  try {
    const current = id ? await api(`/${kind.path}/${encodeURIComponent(id)}`) : null;
    const pluginName = kind.path === 'plugins' && current ? current.name : null;
    if (kind.path === 'plugins' && !pluginName) {
      const enabled = (await api('/plugins/enabled')).enabled_plugins || [];
      const chooser = el('select', { id: 'plugin-name', 'aria-label': 'Plugin' }, el('option', { value: '' }, 'Choose a plugin'),
        enabled.sort().map((n) => el('option', { value: n }, n)));
      form.append(el('div', { class: 'field' }, el('label', { for: 'plugin-name' }, 'Plugin'), chooser));
      chooser.addEventListener('change', () => {
        [...form.children].slice(1).forEach((n) => n.remove());
        if (chooser.value) fill(chooser.value);
      });
      return;
    }
    await fill(pluginName);

    async function fill(plugin) {
      const schema = await api(plugin ? `/schemas/plugins/${encodeURIComponent(plugin)}` : `/schemas/${schemaName(kind)}`);
      const foreign = await foreignChoices(schema);
      const generated = schemaForm(schema, { values: current, foreign, entity: plugin ? 'plugins' : schemaName(kind) });
      const submit = el('button', { type: 'submit', class: 'primary', id: 'save' }, id ? 'Save' : 'Create');
      form.append(...generated.nodes.filter((n) => !(plugin && n.dataset?.path === 'name')), el('div', { class: 'actions' }, submit));
      form.onsubmit = async (event) => {
        event.preventDefault();
        const body = generated.read();
        if (plugin) body.name = plugin;
        submit.disabled = true;
        try {
          const saved = await api(id ? `/${kind.path}/${encodeURIComponent(id)}` : `/${kind.path}`, { method: id ? 'PATCH' : 'POST', body });
          location.hash = `#/entities/${kind.path}/${encodeURIComponent(saved.id)}`;
        } catch (error) {
          generated.showErrors(form, error.body);
          status.textContent = 'Not saved: see the fields marked below.';
        } finally {
          submit.disabled = false;
        }
      };
    }
  } catch (error) {
    status.textContent = error.message;
  }
}
