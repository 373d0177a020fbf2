// A real browser's login through the openid-connect plugin: headless Chromium (Debian's
// /usr/bin/chromium, driven by puppeteer-core over the DevTools protocol; puppeteer-core never
// downloads a browser) opens the gateway's START_URL, is sent to the provider, fills the
// provider's login page (oidc-provider's devInteractions: login, password, submit), confirms its
// consent page when one is shown, follows the redirects back through the gateway's callback to
// where the login started, then opens API_URL in the same browser (its cookies). Prints one
// JSON line with what the browser saw; exits 1 with a message on stderr when a step fails.
// Used by tests/e2e/test_openid_connect_browser.py.
//
//   node browser_login.mjs START_URL USER API_URL [--tamper-session] [--forget-provider]
//                          [--app-cookie=NAME=VALUE]
//
// --tamper-session: before API_URL, the gateway's session cookie is altered in the browser's
//   cookie store (page.setCookie, same attributes, a few characters changed).
// --forget-provider: before API_URL, the provider's cookies are deleted (its login session is
//   gone, so a new login there shows its login page again).
// --app-cookie=NAME=VALUE: before API_URL, a cookie of the application itself is set on the
//   gateway's host (the upstream should get it, and only it, in Cookie).
// Environment: CHROMIUM (default /usr/bin/chromium), STEP_TIMEOUT_MS (each wait, default 20000).
import puppeteer from 'puppeteer-core';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--') && !a.includes('=')));
const appCookie = args.find((a) => a.startsWith('--app-cookie='))?.slice('--app-cookie='.length);
const [startUrl, user, apiUrl] = args.filter((a) => !a.startsWith('--'));
if (!startUrl || !user || !apiUrl) {
  console.error('usage: node browser_login.mjs START_URL USER API_URL [--tamper-session] [--forget-provider] '
                + '[--app-cookie=NAME=VALUE]');
  process.exit(2);
}
const stepTimeout = Number(process.env.STEP_TIMEOUT_MS || 20000);
const gateway = new URL(startUrl);

const result = {
  ok: false, browser: null, consent_shown: false, login_page: null, hops: [], landed: null,
  cookies: [], provider_cookies: [], tampered: false, api: null, cookies_after_api: [],
  console_errors: [], failed_requests: [],
};

// Never hang: the whole run has a deadline too (puppeteer closes the browser on exit).
setTimeout(() => {
  console.log(JSON.stringify(result));
  console.error('browser_login: overall deadline passed');
  process.exit(1);
}, 4 * stepTimeout).unref();

function cookieFlags(c) {
  return { name: c.name, domain: c.domain, path: c.path, httpOnly: c.httpOnly, sameSite: c.sameSite ?? null,
           secure: c.secure, session: c.session, size: c.size };
}

async function cookiesOf(browser, host) {
  return (await browser.cookies()).filter((c) => c.domain === host);
}

async function bodyText(page) {
  return page.evaluate(() => (document.body ? document.body.innerText : '')).then((t) => t.slice(0, 4000));
}

async function submit(page, selector) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: stepTimeout }),
    page.click(selector),
  ]);
  return response;
}

async function run(browser) {
  result.browser = await browser.version();
  const page = await browser.newPage();
  page.setDefaultTimeout(stepTimeout);
  page.setDefaultNavigationTimeout(stepTimeout);
  page.on('console', (msg) => {
    if (msg.type() === 'error') result.console_errors.push({ text: msg.text(), url: msg.location()?.url ?? null });
  });
  page.on('pageerror', (err) => result.console_errors.push({ text: String(err), url: page.url() }));
  page.on('requestfailed', (req) => result.failed_requests.push({ url: req.url(), error: req.failure()?.errorText }));
  page.on('response', (res) => {
    const req = res.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) {
      result.hops.push({ method: req.method(), url: res.url(), status: res.status() });
    }
  });

  // The gateway sends the browser to the provider, whose login page is shown.
  await page.goto(startUrl, { waitUntil: 'load' });
  const loginForm = await page.$('input[name="login"]');
  if (!loginForm) throw new Error(`no login form at ${page.url()}: ${await bodyText(page)}`);
  result.login_page = page.url();
  await page.type('input[name="login"]', user);
  await page.type('input[name="password"]', 'any password');
  let response = await submit(page, 'button[type="submit"]');

  // The provider's consent page (CONSENT=1), confirmed as a user would.
  if (new URL(page.url()).host !== gateway.host && await page.$('input[name="prompt"][value="consent"]')) {
    result.consent_shown = true;
    response = await submit(page, 'button[type="submit"]');
  }
  if (new URL(page.url()).host !== gateway.host) {
    throw new Error(`not back at the gateway but at ${page.url()}: ${await bodyText(page)}`);
  }
  result.landed = { url: page.url(), status: response ? response.status() : null, body: await bodyText(page) };
  result.cookies = (await cookiesOf(browser, gateway.hostname)).map(cookieFlags);
  result.provider_cookies = (await cookiesOf(browser, new URL(result.login_page).hostname)).map(cookieFlags);

  if (flags.has('--tamper-session')) {
    const session = (await cookiesOf(browser, gateway.hostname)).find((c) => c.name === 'session');
    if (!session) throw new Error('no session cookie to tamper with');
    const v = session.value;
    const at = Math.floor(v.length / 2);
    const swapped = v.slice(at, at + 4) === 'AAAA' ? 'BBBB' : 'AAAA';
    const { name, domain, path, httpOnly, sameSite, secure, expires, session: isSession } = session;
    await page.setCookie({ name, value: v.slice(0, at) + swapped + v.slice(at + 4), domain, path, httpOnly,
                           sameSite, secure, ...(isSession ? {} : { expires }) });
    const now = (await cookiesOf(browser, gateway.hostname)).find((c) => c.name === 'session');
    if (!now || now.value === v) throw new Error('the session cookie could not be changed');
    result.tampered = true;
  }
  if (flags.has('--forget-provider')) {
    const host = new URL(result.login_page).hostname;
    await browser.deleteCookie(...await cookiesOf(browser, host));
  }

  if (appCookie) {
    const [name, ...value] = appCookie.split('=');
    await browser.setCookie({ name, value: value.join('='), domain: gateway.hostname, path: '/' });
  }

  // The API call, as the browser makes it: its cookies, its redirects.
  result.hops_before_api = result.hops.length;
  const api = await page.goto(apiUrl, { waitUntil: 'load' });
  result.api = {
    url: apiUrl,
    final_url: page.url(),
    status: api ? api.status() : null,
    redirect_chain: api ? api.request().redirectChain().map((r) => r.url()) : [],
    body: await bodyText(page),
  };
  result.cookies_after_api = (await cookiesOf(browser, gateway.hostname)).map(cookieFlags);
  result.ok = true;
}

let browser;
try {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true, // puppeteer passes --headless=new
    timeout: stepTimeout,
    protocolTimeout: stepTimeout,
    args: [
      '--no-sandbox', // the tests may run as root
      '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
      '--disable-component-update', '--renderer-process-limit=2',
      // Only the loopback servers: the provider's page @imports a web font; no name is resolved.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  await run(browser);
  console.log(JSON.stringify(result));
} catch (err) {
  console.log(JSON.stringify(result));
  console.error(`browser_login: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
}
