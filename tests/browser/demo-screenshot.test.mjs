// The README's first command, as a new user runs it: `scripts/demo` (here with --no-build,
// since the test command already built everything, and --port 0) starts signaling with the
// embedded SFU and a testsrc camera, and prints one link. Opening that link alone must show
// decrypted live video: the fragment's token signs in, its one-time code pairs, the key
// arrives, testsrc's colour regions are in the picture. The page then holds no secret in its
// address, no log line holds the token or the code, the screenshot becomes docs/demo.png,
// and stopping the script stops the stack.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, launchBrowser, started } from './harness.mjs';
import { tileSelector, waitLive, assertPicture } from './stack.mjs';

const CAMERA = 'front-door';
const LINK = /http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9._-]+&camera=[a-z0-9_-]+&pair=[0-9A-Z-]+/;
const cleanups = [];

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Runs `scripts/demo --no-build --port 0` and resolves with the link it prints. */
async function startDemo() {
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-demo-'));
  const child = spawn(join(ROOT, 'scripts', 'demo'), ['--no-build', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, SEALCAM_DEMO_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => { child.once('exit', resolve); });
      child.kill('SIGTERM'); // the script stops its own children on the way out
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  cleanups.push(stop);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => output.push(chunk));
  const link = await new Promise((resolve, reject) => {
    // Generous: on a loaded CI machine the agent's first publish can take a while.
    const timer = setTimeout(() => reject(new Error(`scripts/demo printed no link:\n${output.join('')}`)), 90_000);
    child.stdout.on('data', (chunk) => {
      output.push(chunk);
      const match = LINK.exec(output.join(''));
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`scripts/demo exited with ${code}:\n${output.join('')}`));
    });
  });
  return { link, output, stop, dir };
}

/** Whether anything accepts TCP connections at `origin` (resolves false on refusal). */
function listening(origin) {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

test('the link scripts/demo prints shows decrypted live video with no further step', async () => {
  const { link, stop, dir } = await startDemo();
  const browser = await launchBrowser();
  cleanups.push(() => browser.close());
  const { page } = browser;
  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(link);
  assert.equal(await started(page), 'ready', browser.logs.join('\n'));

  // No secret stays in the address bar (or history): token and code were read and removed.
  const address = new URL(page.url());
  assert.equal(address.hash, '', `fragment scrubbed, got ${address.hash}`);

  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('pair-status').dataset.state), null, { timeout: 30_000 });
  assert.equal(await page.locator('#pair-status').getAttribute('data-state'), 'done', await page.locator('#pair-status').textContent());
  await waitLive(page, CAMERA);
  await assertPicture(page, CAMERA);
  assert.equal(await page.locator(tileSelector(CAMERA)).getAttribute('data-status'), 'live');

  await page.screenshot({ path: join(ROOT, 'docs', 'demo.png'), fullPage: true });

  // The secrets in the link were printed once and logged nowhere: not by signaling, not by
  // the agent, not by the browser's console.
  const fragment = new URLSearchParams(new URL(link).hash.slice(1));
  const secrets = { token: fragment.get('token'), code: fragment.get('pair') };
  const logs = await Promise.all((await readdir(join(dir, 'logs'))).map((f) => readFile(join(dir, 'logs', f), 'utf8')));
  assert.ok(logs.join('').length > 0, 'the services logged something');
  for (const [what, secret] of Object.entries(secrets)) {
    assert.ok(secret && secret.length > 16, `${what} is in the link`);
    assert.ok(!logs.some((text) => text.includes(secret)), `the ${what} appears in a service log`);
    assert.ok(!browser.logs.some((line) => line.includes(secret)), `the ${what} appears in the browser console`);
  }

  // Ctrl-C (here SIGTERM) stops the whole stack: signaling no longer listens.
  const { origin } = new URL(link);
  assert.equal(await listening(origin), true);
  await stop();
  assert.equal(await listening(origin), false, 'scripts/demo stopped signaling on exit');
});
