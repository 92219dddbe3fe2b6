'use strict';
// Starts `bash scripts/demo` (the README's first command) on free loopback ports and
// stops it the way a person does: Ctrl-C (SIGINT), which makes it stop Apache and the IdP.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startDemo({ timeoutMs = 90000 } = {}) {
  const port = await freePort();
  let idpPort = await freePort();
  while (idpPort === port) idpPort = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flexsaml-browser-demo-'));
  fs.chmodSync(dir, 0o755);
  const env = {
    ...process.env,
    FLEXSAML_DEMO_PORT: String(port),
    FLEXSAML_DEMO_IDP_PORT: String(idpPort),
    FLEXSAML_DEMO_DIR: dir,
    FLEXSAML_SKIP_DEPS: process.env.FLEXSAML_SKIP_DEPS || '1',
    // scripts/test built the module just before; a lone `npm test` builds it if missing
    FLEXSAML_SKIP_BUILD: process.env.FLEXSAML_SKIP_BUILD || '1',
  };
  const child = spawn('bash', [path.join(REPO, 'scripts', 'demo')], {
    cwd: REPO, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));

  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the demo did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      if (/running; press Ctrl-C to stop/.test(out)) {
        clearInterval(poll); clearTimeout(timer); resolve();
      }
    }, 100);
    exited.then(({ code, sig }) => {
      clearInterval(poll); clearTimeout(timer);
      reject(new Error(`the demo exited (${code ?? sig}) before it was ready:\n${out}`));
    });
  });

  const base = `http://127.0.0.1:${port}`;
  const m = out.match(/IdP-initiated:\s+(\S+)/);
  return {
    base,
    idpBase: `http://127.0.0.1:${idpPort}`,
    initUrl: m ? m[1] : null,
    dir,
    output: () => out,
    log: (name) => {
      try { return fs.readFileSync(path.join(dir, 'server', 'logs', name), 'utf8'); } catch { return ''; }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // what Ctrl-C sends to the foreground script
        const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 15000);
        const r = await exited;
        clearTimeout(t);
        try { process.kill(-child.pid, 'SIGTERM'); } catch {} // nothing should be left; be sure
        fs.rmSync(dir, { recursive: true, force: true });
        return r;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      return { code: child.exitCode, sig: child.signalCode };
    },
  };
}

module.exports = { REPO, freePort, startDemo };
