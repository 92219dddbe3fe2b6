'use strict';
// The 403 page names the person; Chromium decodes it by the charset of the
// Content-Type header, so a page that holds UTF-8 must say UTF-8 there (it once
// said iso-8859-1 and "José Müller 李" showed as "JosÃ© MÃ¼ller æŽ").
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const { launch } = require('./lib/browser');
const { REPO } = require('./lib/demo');

const NAME = 'José Müller 李';
let site;
let info;
let browser;

before(async () => {
  site = spawn('/usr/bin/python3', [path.join(__dirname, 'lib', 'utf8_site.py')],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  info = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: site.stdout });
    rl.once('line', (line) => resolve(JSON.parse(line)));
    site.once('exit', (code) => reject(new Error(`utf8_site.py exited with ${code}`)));
  });
  browser = await launch();
});

after(async () => {
  if (browser) await browser.close();
  if (site) site.stdin.end();
});

test('the 403 page shows a UTF-8 name as written', { timeout: 45000 }, async () => {
  const context = await browser.newContext();
  const url = new URL(info.url);
  await context.addCookies([{ name: info.cookie_name, value: info.cookie, domain: url.hostname, path: '/' }]);
  const page = await context.newPage();
  const response = await page.goto(info.url);
  assert.equal(response.status(), 403);
  assert.match(response.headers()['content-type'], /charset=utf-8/i);
  assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
  const text = await page.locator('main').innerText();
  assert.ok(text.includes(NAME), text);
  assert.ok(!text.includes('JosÃ©'), text);
  await context.close();
});

test('a refusal page is declared UTF-8', { timeout: 45000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(info.acs);
  assert.equal(response.status(), 405);
  assert.equal(await page.evaluate(() => document.characterSet), 'UTF-8');
  await context.close();
});
