'use strict';
// FlexSAMLPreservePost in headless Chromium: a person signs in, opens a form, their
// session ends while they type (FlexSAMLSessionLifetime 3s on this private site), they
// submit — a multipart form with a file, then a plain one — sign in again on the IdP's
// page, and the form reaches the CGI intact: the same method, Content-Type and bytes
// that Chromium sent the first time. Screenshots in tests/out/browser/preserve-post/.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { REPO } = require('./lib/demo');
const { launch, shooter } = require('./lib/browser');

const T = { timeout: 60000 };
let site;
let child;
let browser;

before(async () => {
  child = spawn('/usr/bin/python3', [path.join(__dirname, 'lib', 'post_site.py')], {
    cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'],
  });
  site = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.on('exit', (code) => reject(new Error(`post_site.py exited ${code}: ${out}`)));
  });
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (child) {
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
  }
});

function echoed(text) {
  return Object.fromEntries(text.split('\n').filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

test('a form submitted after the session ended reaches the CGI after signing in again', T, async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const shot = shooter(page, 'preserve-post');
  const sent = []; // the form POSTs Chromium sends to the CGI
  page.on('request', (req) => {
    if (req.method() === 'POST' && req.url().includes('/protected/echo.cgi')) {
      sent.push({ type: req.headers()['content-type'] });
    }
  });
  const signIn = async () => {
    await page.getByRole('button', { name: /Sam Supervisor/ }).click();
  };

  await page.goto(`${site.base}/protected/form.html`);
  await signIn();
  await page.waitForURL(`${site.base}/protected/form.html`);
  await shot('form');
  const recording = crypto.randomBytes(150000);
  await page.fill('input[name=summary]', 'Refund — caller Zoë «VIP»');
  await page.fill('textarea[name=notes]', 'line one\nline two & three');
  await page.setInputFiles('input[name=recording]',
    { name: 'call.wav', mimeType: 'audio/wav', buffer: recording });
  await page.waitForTimeout(3500); // the session ends while the person types
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForURL(/\/sso\/saml/);
  await shot('signed-out-idp');
  await signIn();
  await page.waitForURL(`${site.base}/protected/echo.cgi?case=42`);
  await shot('saved');
  const got = echoed(await page.textContent('#echo'));
  assert.equal(sent.length, 1, 'Chromium posted the form once');
  assert.equal(got.method, 'POST');
  // The same multipart body (its boundary is in the type), every part intact.
  assert.equal(got.type, sent[0].type);
  assert.match(got.type, /^multipart\/form-data; boundary=/);
  assert.equal(got['part.summary'], 'Refund — caller Zoë «VIP»');
  assert.equal(got['part.notes'], 'line one\\nline two & three');
  assert.equal(got['part.recording'],
    `call.wav ${crypto.createHash('sha256').update(recording).digest('hex')} ${recording.length}`);
  assert.equal(got.user, 'sam.supervisor@example.com');

  // A plain (urlencoded) form, after this session ends too.
  await page.goto(`${site.base}/protected/form.html`);
  await page.waitForTimeout(3500);
  await page.fill('input[name=disposition]', 'resolved: 100% & closed');
  await page.getByRole('button', { name: 'Close case' }).click();
  await page.waitForURL(/\/sso\/saml/);
  await signIn();
  await page.waitForURL(`${site.base}/protected/echo.cgi?case=43`);
  const plain = echoed(await page.textContent('#echo'));
  assert.equal(plain.method, 'POST');
  assert.equal(plain.type, 'application/x-www-form-urlencoded');
  assert.equal(plain.body, 'disposition=resolved%3A+100%25+%26+closed');
  await shot('closed');
  await context.close();
});
