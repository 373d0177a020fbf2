// The openid-connect plugin's test provider: oidc-provider 8 (a certified OpenID Provider
// implementation) with one client and its development login pages (any password; the login
// name becomes the subject). Started on loopback by tests/e2e/test_openid_connect.py and
// tests/e2e/test_openid_connect_browser.py (through oidc_browser.start_idp).
//
// For the client assertion tests: PKJWT_JWK (a public JWK) adds the client `portico-pkjwt`.
// For the bearer tests: clients `api-client` and `api-short` (client_credentials; api-short's
// tokens live SHORT_TTL seconds, default 2) get opaque access tokens, or JWT access tokens for
// the resource https://api.example.test (RFC 8707); introspection (RFC 7662) and revocation
// are on, and GET /test/introspections says how many introspection calls the provider answered.
//
// Environment: ISSUER (http://localhost:PORT), PORT, REDIRECT_URI (comma-separated), POST_LOGOUT_REDIRECT_URI,
// ACCESS_TTL (seconds, default 300), SHORT_TTL, CONSENT (1: the provider's own consent page is shown, as
// to a real user; otherwise the test client is trusted and consent is skipped).
import Provider, { errors } from 'oidc-provider';

const issuer = process.env.ISSUER;
const port = Number(process.env.PORT);
const accessTtl = Number(process.env.ACCESS_TTL || 300);
const shortTtl = Number(process.env.SHORT_TTL || 2);
const apiResource = 'https://api.example.test';
let introspections = 0;

const users = {
  alice: { email: 'alice@example.test', email_verified: true, name: 'Alice Example', groups: ['admins'] },
  bob: { email: 'bob@example.test', email_verified: true, name: 'Bob Example', groups: ['users'] },
};

// The gateway's client again, authenticating with client assertions (RFC 7523): `portico-pkjwt`
// with the private key whose public JWK is in PKJWT_JWK (when set), `portico-sjwt` with its secret.
function jwtClients() {
  const common = {
    redirect_uris: process.env.REDIRECT_URI.split(','),
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  };
  const clients = [{ ...common, client_id: 'portico-sjwt', client_secret: 'a client secret long enough for HS256 signatures',
    token_endpoint_auth_method: 'client_secret_jwt' }];
  if (process.env.PKJWT_JWK) {
    clients.push({ ...common, client_id: 'portico-pkjwt', token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [JSON.parse(process.env.PKJWT_JWK)] } });
  }
  return clients;
}

// No consent page: the test client is trusted (oidc-provider's skip-consent recipe).
async function trustedClientGrant(ctx) {
  const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  if (grantId) return ctx.oidc.provider.Grant.find(grantId);
  const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
  grant.addOIDCScope('openid offline_access email profile groups');
  await grant.save();
  return grant;
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'portico',
    client_secret: 'portico-client-secret',
    redirect_uris: process.env.REDIRECT_URI.split(','),
    post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }, ...jwtClients(), ...['api-client', 'api-short'].map((id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api:read api:write',
  }))],
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, ...(users[sub] ?? {}) }; } };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', 'api:read', 'api:write'],
  conformIdTokenClaims: false,  // the scopes' claims in the ID token too
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async getResourceServerInfo(ctx, resource) {
        if (resource !== apiResource) throw new errors.InvalidTarget();
        return { scope: 'api:read api:write', audience: apiResource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  pkce: { methods: ['S256'], required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  // Every refresh answers a new refresh token and retires the old one; presenting a retired
  // one again revokes the grant (oidc-provider's reuse detection): what makes concurrent
  // refreshes of one session a real hazard.
  rotateRefreshToken: true,
  ttl: { AccessToken: accessTtl,
         ClientCredentials: (ctx, token, client) => (client.clientId === 'api-short' ? shortTtl : accessTtl), AuthorizationCode: 60, IdToken: 300, RefreshToken: 86400, Interaction: 600,
         Session: 3600, Grant: 3600 },
  cookies: { keys: ['test-cookie-key'], long: { sameSite: 'lax' }, short: { sameSite: 'lax' } },
  // CONSENT=1: oidc-provider's own behaviour, a grant only once the user confirmed the
  // devInteractions consent page.
  ...(process.env.CONSENT === '1' ? {} : { loadExistingGrant: trustedClientGrant }),
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/introspections') {
    ctx.body = { introspections };
    return;
  }
  if (ctx.path === '/token/introspection') introspections += 1;
  await next();
});

provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
