'use strict';
// The demo portal driven as a person would, in headless Chromium: SP-initiated sign-in
// through the IdP's page and the auto-submitting POST form, a 403 that names the missing
// role, sign-out, the IdP-initiated link (the Okta tile); then all of it again with
// JavaScript turned off, through the form's no-script Continue button. Every step is a
// screenshot in tests/out/browser/<flow>/. FLEXSAML_UPDATE_SCREENSHOTS=1 also copies the
// two the README shows into docs/screenshots/.
const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { startDemo, REPO } = require('./lib/demo');
const { launch, shooter } = require('./lib/browser');

const SAM = { name: 'Sam Supervisor', email: 'sam.supervisor@example.com' };
const ADA = { name: 'Ada Admin', email: 'ada.admin@example.com' };
const T = { timeout: 45000 };

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (demo) await demo.stop();
});

function flow(name, { javaScriptEnabled }) {
  describe(`sign-in flow, ${javaScriptEnabled ? 'with' : 'without'} JavaScript`, () => {
    let context;
    let page;
    let shot;
    const posts = []; // every POST the browser sends to the ACS

    before(async () => {
      context = await browser.newContext({ javaScriptEnabled, viewport: { width: 1100, height: 720 } });
      page = await context.newPage();
      page.setDefaultTimeout(15000);
      page.on('request', (req) => {
        if (req.method() === 'POST' && req.url().startsWith(`${demo.base}/flexsaml/acs`)) posts.push(req.url());
      });
      shot = shooter(page, name);
    });

    after(async () => {
      if (context) await context.close();
    });

    // After a person is picked on the IdP's page: the HTTP-POST binding page either
    // submits itself (JavaScript) or shows its Continue button (no JavaScript).
    async function pickAndReturn(person, landing) {
      const before = posts.length; // counted before the click: the form may submit at once
      await page.getByRole('button', { name: new RegExp(person.name) }).click();
      if (!javaScriptEnabled) {
        await page.waitForURL(/\/login$|\/init/);
        const cont = page.getByRole('button', { name: 'Continue' });
        await cont.waitFor({ state: 'visible' });
        assert.match(await page.content(), /JavaScript turned off/);
        await shot('continue-button');
        await cont.click();
      }
      await page.waitForURL(landing);
      assert.equal(posts.length, before + 1, 'exactly one POST to the ACS');
    }

    test('the landing page is public and lists the demo people', T, async () => {
      const r = await page.goto(`${demo.base}/`);
      assert.equal(r.status(), 200);
      assert.equal(await page.title(), 'Acme Support intranet');
      const people = await page.textContent('table');
      for (const who of [SAM, ADA]) assert.ok(people.includes(who.name), who.name);
      await shot('landing');
    });

    test('/supervisor/ sends a person without a session to the IdP sign-in page', T, async () => {
      await page.goto(`${demo.base}/supervisor/`);
      assert.ok(page.url().startsWith(`${demo.idpBase}/app/`), page.url());
      assert.match(page.url(), /SAMLRequest=/);
      assert.equal(await page.title(), 'Sign in');
      for (const who of [SAM, ADA]) {
        await page.getByRole('button', { name: new RegExp(who.name) }).waitFor({ state: 'visible' });
      }
      await shot('idp-signin');
    });

    test('picking the supervisor comes back to /supervisor/ with the right name', T, async () => {
      await pickAndReturn(SAM, `${demo.base}/supervisor/`);
      assert.equal((await page.textContent('h1')).trim(), 'Supervisor');
      assert.equal((await page.textContent('#who')).trim(), SAM.name);
      assert.equal((await page.textContent('#area-name')).trim(), SAM.name);
      assert.ok((await page.textContent('footer')).includes(SAM.email));
      await shot('supervisor');
    });

    test('/admin/ is a 403 page that names the missing role', T, async () => {
      const r = await page.goto(`${demo.base}/admin/`);
      assert.equal(r.status(), 403);
      const text = await page.textContent('body');
      assert.match(text, /Access denied/);
      assert.match(text, /needs one of the roles\s*admin\b/);
      assert.ok(text.includes(SAM.name), text);
      assert.match(text, /with the roles\s*supervisor\b/);
      await shot('admin-403');
    });

    // Issue #16, item 5: a link on another site must not sign the person out; it gets the
    // confirmation page, and "Stay signed in" keeps the session.
    test('a cross-site sign-out link only asks', T, async () => {
      await context.route('http://attacker.test/**', (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<a id="evil" href="${demo.base}/flexsaml/logout?ReturnTo=/me/">win a prize</a>`,
        }));
      await page.goto('http://attacker.test/');
      await page.click('#evil');
      await page.waitForURL(`${demo.base}/flexsaml/logout?ReturnTo=/me/`);
      assert.ok(await page.locator('#confirm-logout').isVisible(), 'the confirmation page');
      const cookies = await context.cookies(demo.base);
      assert.ok(cookies.some((c) => c.name === 'flexsaml_session' && c.value), 'still signed in');
      await shot('cross-site-logout-asks');
      await page.getByRole('link', { name: 'Stay signed in' }).click();
      await page.waitForURL(`${demo.base}/me/`);
      assert.equal((await page.textContent('#full-name')).trim(), SAM.name);
    });

    test('Sign out ends the session', T, async () => {
      await page.goto(`${demo.base}/me/`);
      assert.equal((await page.textContent('#full-name')).trim(), SAM.name);
      const img = page.locator('.profile .avatar img');
      assert.match(await img.getAttribute('src'), /\/avatars\/.+\.svg$/);
      if (javaScriptEnabled) {
        assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the avatar loads');
      }
      await shot('me-supervisor');
      await page.click('#logout');
      await page.waitForURL(`${demo.base}/`);
      const cookies = await context.cookies(demo.base);
      assert.ok(!cookies.some((c) => c.name === 'flexsaml_session' && c.value), JSON.stringify(cookies));
      await page.goto(`${demo.base}/supervisor/`);
      assert.ok(page.url().startsWith(`${demo.idpBase}/`), `signed out, so back to the IdP: ${page.url()}`);
      await shot('signed-out-back-at-idp');
    });

    test('the IdP-initiated link signs the admin in, who then opens /admin/', T, async () => {
      await page.goto(`${demo.base}/`);
      await page.getByRole('link', { name: /Sign in from the IdP/ }).click();
      await page.waitForURL(/\/init/);
      assert.doesNotMatch(page.url(), /SAMLRequest=/, 'no AuthnRequest: the IdP starts it');
      await shot('idp-initiated-signin');
      await pickAndReturn(ADA, `${demo.base}/me/`); // FlexSAMLDefaultURL
      assert.equal((await page.textContent('#full-name')).trim(), ADA.name);
      assert.equal((await page.textContent('#email')).trim(), ADA.email);
      const roles = (await page.locator('#roles .role').allTextContents()).map((s) => s.trim());
      assert.deepEqual(roles, ['admin', 'supervisor']);
      await shot('me-admin');
      await page.getByRole('navigation').getByRole('link', { name: 'Admin', exact: true }).click();
      await page.waitForURL(`${demo.base}/admin/`);
      assert.equal((await page.textContent('h1')).trim(), 'Admin');
      assert.equal((await page.textContent('#area-name')).trim(), ADA.name);
      await shot('admin');
      const r = await page.goto(`${demo.base}/agent/`);
      assert.equal(r.status(), 403, 'the admin is not an agent');
    });
  });
}

flow('js', { javaScriptEnabled: true });
flow('nojs', { javaScriptEnabled: false });

function refused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

test('Ctrl-C stops Apache and the IdP', T, async () => {
  await browser.close();
  browser = null;
  const ports = [new URL(demo.base).port, new URL(demo.idpBase).port].map(Number);
  const r = await demo.stop();
  demo = null;
  assert.equal(r.code, 130, `the demo exits 130 after Ctrl-C (got ${JSON.stringify(r)})`);
  for (const p of ports) assert.ok(await refused(p), `port ${p} still answers`);
  if (process.env.FLEXSAML_UPDATE_SCREENSHOTS === '1') {
    const docs = path.join(REPO, 'docs', 'screenshots');
    fs.mkdirSync(docs, { recursive: true });
    const out = path.join(REPO, 'tests', 'out', 'browser', 'js');
    const pick = (re) => fs.readdirSync(out).find((f) => re.test(f));
    fs.copyFileSync(path.join(out, pick(/-idp-signin\.png$/)), path.join(docs, 'idp-signin.png'));
    fs.copyFileSync(path.join(out, pick(/-supervisor\.png$/)), path.join(docs, 'supervisor.png'));
  }
});
