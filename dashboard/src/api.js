// The Admin API as the dashboard calls it: same origin, the admin token (when the gateway asks
// for one) in Kong-Admin-Token, JSON both ways. A 401 asks for the token and tries again.

const TOKEN_KEY = 'portico-admin-token';
let askToken = null;  // set by app.js: shows the sign-in dialog, resolves when a token is given

export function onTokenNeeded(fn) { askToken = fn; }
export function setToken(token) { sessionStorage.setItem(TOKEN_KEY, token); }

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(path, { method = 'GET', body } = {}) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers['Kong-Admin-Token'] = token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    });
    if (response.status === 401 && askToken) {
      await askToken(token ? 'That token was refused.' : '');
      continue;
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }
  throw new ApiError(401, { message: 'Invalid credentials' });
}
