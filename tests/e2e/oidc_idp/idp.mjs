// The openid-connect plugin's test provider: oidc-provider 8 (a certified OpenID Provider
// implementation) with one client and its development login pages (any password; the login
// name becomes the subject). Started by tests/e2e/test_openid_connect.py on loopback.
//
// Environment: ISSUER (http://localhost:PORT), PORT, REDIRECT_URI, POST_LOGOUT_REDIRECT_URI,
// ACCESS_TTL (seconds, default 300).
import Provider from 'oidc-provider';

const issuer = process.env.ISSUER;
const port = Number(process.env.PORT);
const accessTtl = Number(process.env.ACCESS_TTL || 300);

const users = {
  alice: { email: 'alice@example.test', email_verified: true, name: 'Alice Example', groups: ['admins'] },
  bob: { email: 'bob@example.test', email_verified: true, name: 'Bob Example', groups: ['users'] },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'portico',
    client_secret: 'portico-client-secret',
    redirect_uris: [process.env.REDIRECT_URI],
    post_logout_redirect_uris: [process.env.POST_LOGOUT_REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, ...(users[sub] ?? {}) }; } };
  },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false,  // the scopes' claims in the ID token too
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { methods: ['S256'], required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: { AccessToken: accessTtl, AuthorizationCode: 60, IdToken: 300, RefreshToken: 86400, Interaction: 600,
         Session: 3600, Grant: 3600 },
  cookies: { keys: ['test-cookie-key'], long: { sameSite: 'lax' }, short: { sameSite: 'lax' } },
  // No consent page: the test client is trusted (oidc-provider's skip-consent recipe).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid offline_access email profile groups');
    await grant.save();
    return grant;
  },
});

provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
