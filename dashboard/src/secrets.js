// Which fields hold a secret: never shown (replaced by HIDDEN), and in forms password boxes that
// are never filled with the stored value. One rule for every view.

export const HIDDEN = '•••••• (hidden)';

// Anywhere (a plugin's config included): *secret*, *passw*, *private_key*, *api_key*, *_token.
const SECRET_NAME = /(secret|passw|private_key|api_key)|(^|_)token$/i;
// By entity (Kong's schema names): fields whose plain name says nothing.
const SECRET_FIELDS = { keyauth_credentials: ['key'], certificates: ['key', 'key_alt'] };

export function isSecret(entity, name) {
  return SECRET_NAME.test(name) || (SECRET_FIELDS[entity] || []).includes(name);
}

// Only text can be a secret: a boolean named `hide_credentials` or a count is shown.
const secretShaped = (v) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));

// A copy of `value` (an entity, or part of one) with every secret replaced, for display.
export function withoutSecrets(entity, value, name = '') {
  if (value === null || value === undefined) return value;
  if (name && isSecret(entity, name) && secretShaped(value)) return value === '' || value.length === 0 ? value : HIDDEN;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(entity, v));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(entity, v, k)]));
  }
  return value;
}
