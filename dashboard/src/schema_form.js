// Forms generated from the Admin API's schemas (GET /schemas/{entity}, /schemas/plugins/{name}:
// Kong's shape, {"fields": [{"name": {"type": ..., "required": ..., "default": ...}}]}), and the
// Admin API's field errors ({"fields": {"name": "message", "config": {"minute": "..."}}}) shown
// next to the fields they name.
import { el } from './dom.js';
import { isSecret } from './secrets.js';

// Fields a form never edits: set by the gateway.
const MANAGED = new Set(['id', 'created_at', 'updated_at']);
// Long values (PEM blocks) get a text area.
const MULTILINE = new Set(['cert', 'key', 'cert_alt', 'key_alt', 'rsa_public_key']);

const entries = (schema) => (schema.fields || []).map((f) => Object.entries(f)[0]);

function describe(spec) {
  const parts = [];
  if (spec.required) parts.push('required');
  if (spec.between) parts.push(`${spec.between[0]} to ${spec.between[1]}`);
  if (spec.min !== undefined) parts.push(`at least ${spec.min}`);
  if (spec.max !== undefined) parts.push(`at most ${spec.max}`);
  if (spec.one_of && spec.type !== 'string') parts.push(`one of ${spec.one_of.join(', ')}`);
  if (spec.default !== undefined && spec.default !== null && typeof spec.default !== 'object') parts.push(`default ${spec.default}`);
  return parts.join(', ');
}

// One field's control; returns { node, read(), path } where read() gives the value to send or
// undefined (not set).
function field(path, name, spec, value, ctx) {
  const id = `f-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const label = el('label', { for: id }, name, spec.required ? el('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
  const hint = el('span', { class: 'hint' }, describe(spec));
  const error = el('span', { class: 'field-error', id: `${id}-error`, 'data-error-for': path, role: 'alert' });
  const wrap = (control, read) => {
    control.setAttribute?.('aria-describedby', `${id}-error`);
    const node = el('div', { class: 'field', 'data-path': path }, label, control, hint, error);
    return { node, read, path };
  };
  // A secret: a password box (a text area for a PEM key), never filled with the stored value;
  // left empty, the stored value is kept.
  const secret = isSecret(ctx.entity, name);
  const has = value !== undefined && value !== null;

  if (spec.type === 'boolean' && typeof spec.default === 'boolean') {
    const box = el('input', { id, type: 'checkbox', checked: has ? value : spec.default });
    return wrap(box, () => box.checked);
  }
  if (spec.type === 'boolean') {
    // No default: unset is a third answer (a service's tls_verify: the gateway's own setting).
    const select = el('select', { id, name: path }, el('option', { value: '' }, '–'),
      ['true', 'false'].map((o) => el('option', { value: o, selected: has && String(value) === o }, o)));
    return wrap(select, () => (select.value === '' ? (ctx.editing && has ? null : undefined) : select.value === 'true'));
  }
  if (spec.type === 'string' && spec.one_of) {
    // Unset until chosen (the default applies, shown in the hint): a default sent along could
    // contradict another field (a service's `url` sets its protocol).
    const select = el('select', { id, name: path }, spec.required && has ? null : el('option', { value: '' }, '–'),
      spec.one_of.map((o) => el('option', { value: o, selected: has && value === o }, o)));
    return wrap(select, () => select.value || (ctx.editing && has ? null : undefined));
  }
  if (spec.type === 'string') {
    const attrs = { id, name: path, autocomplete: 'off', spellcheck: 'false' };
    const control = MULTILINE.has(name) ? el('textarea', { ...attrs, rows: 4 })
      : el('input', { ...attrs, type: secret ? 'password' : 'text' });
    if (secret && has) control.placeholder = 'stored; type to replace';
    else if (has) control.value = value;
    if (!has && !ctx.editing && spec.default !== undefined && spec.default !== null) control.placeholder = String(spec.default);
    return wrap(control, () => {
      if (control.value !== '') return control.value;
      if (secret) return undefined;
      return ctx.editing && has ? null : undefined;
    });
  }
  if (spec.type === 'integer' || spec.type === 'number') {
    const input = el('input', { id, name: path, type: 'number', step: spec.type === 'integer' ? 1 : 'any',
      min: spec.between?.[0] ?? spec.min ?? spec.gt, max: spec.between?.[1] ?? spec.max });
    if (has) input.value = value;
    else if (spec.default !== undefined && spec.default !== null) input.placeholder = String(spec.default);
    // The box's text goes as typed: the Admin API names what is wrong with it.
    return wrap(input, () => (input.value === '' ? (ctx.editing && has ? null : undefined) : Number(input.value)));
  }
  if ((spec.type === 'array' || spec.type === 'set') && spec.elements?.type === 'string' && spec.elements.one_of) {
    const chosen = new Set(has ? value : spec.default || []);
    const boxes = spec.elements.one_of.map((o) => el('input', { type: 'checkbox', value: o, checked: chosen.has(o), 'aria-label': o }));
    const group = el('div', { id, class: 'choices', role: 'group' },
      boxes.map((b) => el('label', { class: 'choice' }, b, ` ${b.value}`)));
    return wrap(group, () => {
      const picked = boxes.filter((b) => b.checked).map((b) => b.value);
      return picked.length ? picked : (ctx.editing && has ? null : undefined);
    });
  }
  if ((spec.type === 'array' || spec.type === 'set') && ['string', 'integer', 'number'].includes(spec.elements?.type)) {
    const area = el('textarea', { id, name: path, rows: 3, placeholder: 'one per line', spellcheck: 'false' });
    if (secret && has && value.length) area.placeholder = 'stored; type to replace (one per line)';
    else if (has) area.value = value.join('\n');
    return wrap(area, () => {
      const items = area.value.split('\n').map((s) => s.trim()).filter(Boolean);
      const typed = spec.elements.type === 'string' ? items : items.map((s) => (Number.isNaN(Number(s)) ? s : Number(s)));
      if (typed.length) return typed;
      return secret || !(ctx.editing && has) ? undefined : null;
    });
  }
  if (spec.type === 'foreign') {
    const options = ctx.foreign[spec.reference] || [];
    const current = has ? value.id : '';
    const select = el('select', { id, name: path }, el('option', { value: '' }, '–'),
      options.map((o) => el('option', { value: o.id, selected: o.id === current }, o.label)));
    return wrap(select, () => (select.value ? { id: select.value } : (ctx.editing && has ? null : undefined)));
  }
  if (spec.type === 'record' && spec.fields) {
    const children = entries(spec).filter(([n]) => !MANAGED.has(n))
      .map(([n, s]) => field(`${path}.${n}`, n, s, has ? value[n] : undefined, ctx));
    const box = el('details', { class: 'record', 'data-path': path, open: spec.required || path === 'config' },
      el('summary', {}, name), children.map((c) => c.node),
      el('span', { class: 'field-error', 'data-error-for': path, role: 'alert' }));
    return { node: box, path, read: () => collect(children) };
  }
  // Maps and anything else: JSON.
  const area = el('textarea', { id, name: path, rows: 3, placeholder: 'JSON', spellcheck: 'false' });
  if (has) area.value = JSON.stringify(value, null, 2);
  return wrap(area, () => {
    if (area.value.trim() === '') return ctx.editing && has ? null : undefined;
    try { return JSON.parse(area.value); } catch { return area.value; }  // the Admin API says what is wrong
  });
}

function collect(children) {
  const out = {};
  for (const c of children) {
    const v = c.read();
    if (v !== undefined) out[c.path.split('.').pop()] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

// The form of an entity: `schema` from /schemas, `values` the entity when editing, `foreign`
// {reference: [{id, label}]} for the foreign keys' choices. read() gives the body to send.
export function schemaForm(schema, { values = null, foreign = {}, entity = '', only = null } = {}) {
  const ctx = { editing: values !== null, foreign, entity };
  const children = entries(schema)
    // (not a foreign key this entity cannot have: a plugin's scope that must stay null)
    .filter(([n, s]) => !MANAGED.has(n) && !(s.auto && !values) && s.eq !== null && (!only || only.includes(n)))
    .map(([n, s]) => field(n, n, s, values ? values[n] : undefined, ctx));
  const entityErrors = el('div', { class: 'form-errors', role: 'alert', id: 'form-errors' });
  return {
    nodes: [entityErrors, ...children.map((c) => c.node)],
    read: () => collect(children) || {},
    showErrors(form, body) {
      for (const e of form.querySelectorAll('[data-error-for]')) e.textContent = '';
      for (const e of form.querySelectorAll('.invalid')) e.classList.remove('invalid');
      const general = [];
      const place = (path, message) => {
        const target = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
        if (!target) { general.push(path ? `${path}: ${message}` : message); return; }
        target.textContent = target.textContent ? `${target.textContent}; ${message}` : message;
        target.closest('.field, .record')?.classList.add('invalid');
      };
      const walk = (path, node) => {
        if (node === null || node === undefined) return;
        if (typeof node === 'string') { place(path, node); return; }
        if (Array.isArray(node)) {
          node.forEach((item, i) => {
            if (typeof item === 'string') place(path, node.length > 1 || path === '' ? `item ${i + 1}: ${item}` : item);
            else walk(path, item);
          });
          return;
        }
        for (const [k, v] of Object.entries(node)) {
          if (k === '@entity') (Array.isArray(v) ? v : [v]).forEach((m) => place(path, m));
          else walk(path ? `${path}.${k}` : k, v);
        }
      };
      if (body && body.fields) walk('', body.fields);
      else general.push((body && body.message) || 'The Admin API refused this.');
      entityErrors.replaceChildren(...general.map((m) => el('p', {}, m)));
      const first = form.querySelector('.invalid input, .invalid select, .invalid textarea');
      if (first) first.focus();
      return general;
    },
  };
}
