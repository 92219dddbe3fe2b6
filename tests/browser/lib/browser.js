'use strict';
// Debian's Chromium (/usr/bin/chromium) driven by playwright-core: no browser download.
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { REPO } = require('./demo');

const CHROMIUM = process.env.FLEXSAML_CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.FLEXSAML_BROWSER_OUT || path.join(REPO, 'tests', 'out', 'browser');

// Flags that keep Chromium quiet on a machine without a network; playwright adds
// --headless and a fresh --user-data-dir of its own for every launch.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install chromium (bash scripts/install-deps does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60000 });
}

// One folder of numbered screenshots per flow: tests/out/browser/<flow>/NN-step.png
function shooter(page, flow) {
  const dir = path.join(OUT, flow);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const shot = async (name) => {
    n += 1;
    const file = path.join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
  shot.dir = dir;
  return shot;
}

module.exports = { launch, shooter, OUT, CHROMIUM };
