// Drives Debian's chromium (headless, through puppeteer-core) through the dashboard for
// tests/e2e/test_dashboard.py and prints what it saw as one JSON line.
//
//   node drive.mjs SCENARIO ADMIN_URL SCREENSHOT_DIR [JSON_ARGS]
//
// Every scenario also reports the page's console errors, uncaught exceptions, failed requests
// and Content-Security-Policy violations: the test expects none.
import puppeteer from 'puppeteer-core';
import path from 'node:path';

const [scenario, adminUrl, screenshots, argsJson] = process.argv.slice(2);
const args = argsJson ? JSON.parse(argsJson) : {};
const report = { scenario, console_errors: [], page_errors: [], failed_requests: [], http_errors: [] };

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
});
const timer = setTimeout(() => { console.log(JSON.stringify({ ...report, error: 'scenario timed out' })); process.exit(2); }, 90000);

let lastPage = null;  // on a failure, what it showed goes into the report
async function newPage(width = 1280, height = 800) {
  const page = await browser.newPage();
  lastPage = page;
  await page.setViewport({ width, height });
  page.on('console', (m) => { if (m.type() === 'error') report.console_errors.push(m.text()); });
  page.on('pageerror', (e) => report.page_errors.push(String(e)));
  page.on('requestfailed', (r) => report.failed_requests.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) report.http_errors.push(`${r.status()} ${r.url()}`); });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(screenshots, `${name}.png`) });
  (report.screenshots ||= []).push(`${name}.png`);
}

// A new tab with args.token: the dashboard asks for it (the Admin API answered 401).
async function signInIfAsked(page) {
  if (!args.token) return;
  await page.waitForSelector('#login[open]', { timeout: 15000 });
  report.asked_for_token = true;
  await shot(page, 'sign-in');
  await page.type('#login-token', args.token);
  await page.click('#login-form button[type=submit]');
}

// Whether the page is wider than its viewport (something does not fit a phone).
const overflows = (page) => page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);

const scenarios = {
  // The overview: the test's traffic on args.route shows in the cards, the charts and the top
  // table; then the route's own view; dark and phone-sized renderings.
  async overview() {
    const page = await newPage();
    await page.goto(`${adminUrl}/dashboard/`, { waitUntil: 'domcontentloaded' });
    await signInIfAsked(page);
    const row = `#top-traffic tbody tr[data-route="${args.route}"]`;
    await page.waitForSelector(row, { timeout: 20000 });
    await page.waitForFunction(() => parseFloat(document.querySelector('#card-rps').textContent) > 0, { timeout: 20000 });
    report.rps_card = await page.$eval('#card-rps', (e) => e.textContent);
    report.top_routes = await page.$$eval('#top-traffic tbody tr[data-route]', (rows) => rows.map((r) => r.dataset.route));
    report.error_routes = await page.$$eval('#top-errors tbody tr[data-route]', (rows) => rows.map((r) => r.dataset.route));
    report.charts = await page.$$eval('.chart canvas', (c) => c.length);
    report.node = await page.$eval('#node', (e) => e.textContent);
    await new Promise((r) => setTimeout(r, 1500));  // a few more points on the charts
    await shot(page, 'overview');
    report.tab_order = [];
    await page.keyboard.press('Tab');
    report.tab_order.push(await page.evaluate(() => document.activeElement.textContent.trim()));
    await page.keyboard.press('Tab');
    report.tab_order.push(await page.evaluate(() => document.activeElement.textContent.trim()));

    await page.$eval(`${row} a`, (a) => a.click());  // in the page: the table refreshes every second
    await page.waitForFunction((name) => document.querySelector('h1').textContent.includes(name), { timeout: 10000 }, args.route);
    await page.waitForFunction(() => parseFloat(document.querySelector('#card-rps').textContent) > 0, { timeout: 20000 });
    report.route_view = { hash: await page.evaluate(() => location.hash), heading: await page.$eval('h1', (e) => e.textContent) };
    await shot(page, 'overview-route');

    await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
    await page.goto(`${adminUrl}/dashboard/#/overview`, { waitUntil: 'domcontentloaded' });  // the tab keeps its token
    await page.waitForSelector(row, { timeout: 20000 });
    report.dark_background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await shot(page, 'overview-dark');

    const phone = await newPage(390, 844);
    await phone.goto(`${adminUrl}/dashboard/`, { waitUntil: 'domcontentloaded' });
    await signInIfAsked(phone);
    await phone.waitForSelector(row, { timeout: 20000 });
    report.phone_overflows = await overflows(phone);
    await shot(phone, 'overview-phone');
  },

  // Forms: a service with a bad value shows the Admin API's error next to the field; corrected,
  // it is created; then a route for it; then the service edited. args: service, route, path, url.
  async entities() {
    const page = await newPage();
    page.on('dialog', (d) => d.accept());
    await page.goto(`${adminUrl}/dashboard/#/entities/services`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#new', { timeout: 15000 });
    await shot(page, 'entities-services-empty');
    await page.click('#new');
    await page.waitForSelector('#entity-form #f-name', { timeout: 15000 });
    await page.type('#f-name', args.service);
    await page.type('#f-url', args.url);
    await page.type('#f-retries', '99999');
    await page.click('#save');
    await page.waitForFunction(() => document.querySelector('[data-error-for="retries"]')?.textContent, { timeout: 10000 });
    report.field_error = await page.$eval('[data-error-for="retries"]', (e) => e.textContent);
    report.config_version = await page.$eval('#config-version', (e) => e.textContent);
    report.focused_after_error = await page.evaluate(() => document.activeElement.id);
    await shot(page, 'entities-service-error');
    await page.$eval('#f-retries', (e) => { e.value = ''; });
    await page.type('#f-retries', '2');
    await page.click('#save');
    await page.waitForSelector('#fields', { timeout: 10000 });
    await page.waitForFunction((name) => document.querySelector('#fields')?.textContent.includes(name), { timeout: 10000 }, args.service);
    report.service_hash = await page.evaluate(() => location.hash);

    await page.goto(`${adminUrl}/dashboard/#/entities/routes/new`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#entity-form #f-paths', { timeout: 15000 });
    await page.type('#f-name', args.route);
    await page.type('#f-paths', args.path);
    const serviceOption = await page.$$eval('#f-service option', (options, name) => options.find((o) => o.textContent === name)?.value, args.service);
    await page.select('#f-service', serviceOption);
    await shot(page, 'entities-route-form');
    await page.click('#save');
    await page.waitForFunction((name) => document.querySelector('#fields')?.textContent.includes(name), { timeout: 10000 }, args.route);
    report.route_created = await page.evaluate(() => location.hash);

    // A plugin through its form: rate-limiting on the new route (its `config` is a nested
    // record of the form), then deleted from its page.
    await page.goto(`${adminUrl}/dashboard/#/entities/plugins/new`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#plugin-name', { timeout: 15000 });
    await page.select('#plugin-name', 'rate-limiting');
    await page.waitForSelector('#f-config_minute', { timeout: 15000 });
    await page.type('#f-config_minute', '2');
    const routeOption = await page.$$eval('#f-route option', (options, name) => options.find((o) => o.textContent === name)?.value, args.route);
    await page.select('#f-route', routeOption);
    await shot(page, 'entities-plugin-form');
    await page.click('#save');
    await page.waitForFunction(() => /^#\/entities\/plugins\/[0-9a-f-]+$/.test(location.hash) && document.querySelector('#fields dt'), { timeout: 10000 });
    report.plugin_page = await page.evaluate(() => location.hash);

    await page.goto(`${adminUrl}/dashboard/#/entities/services`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction((name) => document.querySelector('#entities')?.textContent.includes(name), { timeout: 10000 }, args.service);
    await page.type('#search', 'no-such-thing');
    report.rows_after_search = await page.$$eval('#entities tbody tr', (rows) => rows.length);
    await page.$eval('#search', (e) => { e.value = ''; e.dispatchEvent(new Event('input')); });
    report.rows = await page.$$eval('#entities tbody tr', (rows) => rows.length);
    await shot(page, 'entities-services');
    await page.click('#entities tbody tr a');
    await page.waitForSelector('#edit', { timeout: 10000 });
    await page.click('#edit');
    await page.waitForSelector('#entity-form #f-retries', { timeout: 10000 });
    report.edit_prefilled = await page.$eval('#f-retries', (e) => e.value);
    await page.$eval('#f-retries', (e) => { e.value = ''; });
    await page.type('#f-retries', '3');
    await page.click('#save');
    await page.waitForSelector('#fields', { timeout: 10000 });
    await page.waitForFunction(() => /retries\s*3/.test(document.querySelector('#fields').innerText), { timeout: 10000 });
    report.edited = true;
  },

  // Health and protection: args.unhealthy names a target the test stopped; it shows unhealthy.
  async health() {
    const page = await newPage();
    page.on('dialog', (d) => d.accept());
    await page.goto(`${adminUrl}/dashboard/#/health`, { waitUntil: 'domcontentloaded' });
    const target = `#upstreams-body tr[data-target="${args.unhealthy}"] .badge`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'UNHEALTHY', { timeout: 20000 }, target);
    report.targets = await page.$$eval('#upstreams-body tr[data-target]', (rows) => rows.map((r) => [r.dataset.target, r.querySelector('.badge').textContent]));
    await page.waitForSelector(`#health-ratelimit tr[data-route="${args.limited_route}"]`, { timeout: 10000 });
    report.ratelimit = await page.$eval(`#health-ratelimit tr[data-route="${args.limited_route}"]`, (r) => [...r.cells].map((c) => c.textContent));
    await page.waitForSelector(`#health-cache tr[data-route="${args.cached_route}"]`, { timeout: 10000 });
    report.cache = await page.$eval(`#health-cache tr[data-route="${args.cached_route}"]`, (r) => [...r.cells].map((c) => c.textContent));
    report.breakers = await page.$eval('#health-breakers', (e) => e.innerText);
    report.cluster = await page.$eval('#health-cluster', (e) => e.innerText);
    await shot(page, 'health');
    await page.click('#purge-all');
    await page.waitForFunction(() => document.querySelector('#purge-result')?.textContent === 'Purged.', { timeout: 10000 });
    report.purged = true;
    const phone = await newPage(390, 844);
    await phone.goto(`${adminUrl}/dashboard/#/health`, { waitUntil: 'domcontentloaded' });
    await phone.waitForSelector(target, { timeout: 20000 });
    report.phone_overflows = await overflows(phone);
    await shot(phone, 'health-phone');
  },

  // Deletes the entity at args.hash (a detail page) through its Delete button.
  async remove() {
    const page = await newPage();
    page.on('dialog', (d) => d.accept());
    await page.goto(`${adminUrl}/dashboard/${args.hash}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#delete', { timeout: 15000 });
    await page.click('#delete');
    await page.waitForFunction(() => /^#\/entities\/[a-z_-]+$/.test(location.hash), { timeout: 10000 });
    report.after = await page.evaluate(() => location.hash);
  },

  // The list filtered by tags (the Admin API's tags=...).
  async tags() {
    const page = await newPage();
    await page.goto(`${adminUrl}/dashboard/#/entities/services`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('#entities tbody tr').length > 1, { timeout: 15000 });
    report.all = await page.$$eval('#entities tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
    await page.type('#tags', args.tags);
    await page.waitForFunction((n) => document.querySelectorAll('#entities tbody tr').length === n, { timeout: 10000 }, args.expect);
    report.tagged = await page.$$eval('#entities tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
  },

  // DB-less: the entities are listed, nothing offers to change them, the banner says why.
  async readonly() {
    const page = await newPage();
    await page.goto(`${adminUrl}/dashboard/#/entities/routes`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelectorAll('#entities tbody tr').length > 0, { timeout: 15000 });
    await page.waitForFunction(() => !document.querySelector('#banner').hidden, { timeout: 15000 });
    report.banner = await page.$eval('#banner', (e) => e.textContent);
    report.routes = await page.$$eval('#entities tbody tr', (rows) => rows.map((r) => r.cells[0].textContent));
    await new Promise((r) => setTimeout(r, 500));
    report.new_button = (await page.$('#new')) !== null;
    await page.click('#entities tbody tr a');
    await page.waitForSelector('#fields dt', { timeout: 10000 });
    await new Promise((r) => setTimeout(r, 500));
    report.edit_button = (await page.$('#edit')) !== null;
    await shot(page, 'entities-readonly');
  },
};

try {
  await scenarios[scenario]();
} catch (error) {
  report.error = String(error);
  if (lastPage) {
    report.error_page = await lastPage.evaluate(() => `${location.hash}\n${document.querySelector('main')?.innerText}`).catch(() => null);
    await shot(lastPage, `${scenario}-failure`).catch(() => null);
  }
} finally {
  clearTimeout(timer);
  await browser.close();
  console.log(JSON.stringify(report));
}
