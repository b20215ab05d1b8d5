// The real services for the browser tests: the `signaling` binary (serving web-viewer/ with
// its own headers) on 127.0.0.1 port 0, tokens minted by the same binary, and a scriptable
// camera client speaking the signaling protocol over a real WebSocket.
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { ROOT, launchBrowser, started } from './harness.mjs';
import { seedStore } from './fixtures.mjs';
import { connectWebSocket } from './ws-server.mjs';

const run = promisify(execFile);

/** The signaling binary: $SEALCAM_SIGNALING_BIN, else the workspace's debug build. */
export function signalingBinary() {
  const candidates = [
    process.env.SEALCAM_SIGNALING_BIN,
    join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'debug', 'signaling'),
  ].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`no signaling binary (looked at ${candidates.join(', ')}); run \`cargo build -p signaling\` or set SEALCAM_SIGNALING_BIN`);
  }
  return found;
}

/**
 * Starts `signaling serve` and resolves once it listens.
 * @returns {Promise<{origin: string, token: Function, logs: string[], stop: Function}>}
 */
export async function startSignaling() {
  const binary = signalingBinary();
  const env = { ...process.env, SIGNALING_SECRET: randomBytes(32).toString('hex'), NO_COLOR: '1', RUST_LOG: 'info' };
  // Everything on loopback, every port chosen by the OS (the embedded SFU's UDP one too).
  const dir = await mkdtemp(join(tmpdir(), 'sealcam-signaling-'));
  const config = join(dir, 'signaling.toml');
  await writeFile(config, [
    'listen = "127.0.0.1:0"',
    `static_dir = ${JSON.stringify(join(ROOT, 'web-viewer'))}`,
    '[sfu]',
    'bind = "127.0.0.1:0"',
    // More [sfu] keys, for A/B runs of the benchmarks (e.g. "direct_send = false").
    ...(process.env.SEALCAM_SFU_TOML ?? '').split(';').map((line) => line.trim()).filter(Boolean),
    '',
  ].join('\n'));
  const child = spawn(binary, ['serve', '--config', config], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs = [];
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`signaling did not start:\n${logs.join('')}`)), 20_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      logs.push(chunk);
      // eslint-disable-next-line no-control-regex
      // The HTTP listener's line (the SFU logs its UDP address the same way, earlier).
      const match = /signaling listening.*?local_addr=(127\.0\.0\.1:\d+)/.exec(logs.join('').replace(/\x1b\[[0-9;]*m/g, ''));
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`signaling exited with ${code}:\n${logs.join('')}`));
    });
  });
  return {
    origin: `http://${address}`,
    logs,
    /** Mints a token with the server's secret via `signaling token`. */
    async token(role, cameras, ttl = '1h') {
      const args = ['token', '--role', role, '--ttl', ttl, ...cameras.flatMap((c) => ['--camera', c])];
      const { stdout } = await run(binary, args, { env });
      return stdout.trim();
    },
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => { child.once('exit', resolve); });
        child.kill('SIGTERM');
        // A second signal skips the drain (signaling's documented behaviour); a server that
        // still hangs must not hang the test run.
        setTimeout(() => child.kill('SIGTERM'), 2000).unref();
        setTimeout(() => child.kill('SIGKILL'), 6000).unref();
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A camera session: hello with a camera token, then scripted answers to relayed requests. */
export async function connectCamera(origin, token) {
  const ws = await connectWebSocket(`${origin.replace('http', 'ws')}/ws`);
  const received = [];
  ws.on('message', (text) => received.push(JSON.parse(text)));
  const welcome = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('camera got no welcome')), 10_000);
    ws.on('message', (text) => {
      const message = JSON.parse(text);
      if (message.type === 'welcome') {
        clearTimeout(timer);
        resolve(message);
      } else if (message.type === 'ping') {
        ws.send({ type: 'pong' });
      }
    });
  });
  ws.send({ type: 'hello', version: 1, token });
  await welcome;
  return { ws, received };
}

/** The camera-agent binary: $SEALCAM_AGENT_BIN, else the workspace's debug build. */
export function agentBinary() {
  const candidates = [
    process.env.SEALCAM_AGENT_BIN,
    join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'debug', 'camera-agent'),
  ].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`no camera-agent binary (looked at ${candidates.join(', ')}); run \`cargo build -p camera-agent\` or set SEALCAM_AGENT_BIN`);
  }
  return found;
}

/**
 * A real camera: `init` in a fresh state directory, then `run` with testsrc against
 * `signalingOrigin`. `pair()` prints a new one-time code; `revoke(id)` removes a device.
 */
export async function startAgent({ stateDir, cameraId, signalingOrigin, token, tokenFile }) {
  const binary = agentBinary();
  const base = ['--state-dir', stateDir];
  await run(binary, [...base, '--camera-id', cameraId, 'init']);
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const logs = [];
  const child = spawn(binary, [...base, '--signaling-url', `${signalingOrigin.replace('http', 'ws')}/ws`,
    '--token-file', tokenFile, '--source', 'testsrc', '--udp-bind', '127.0.0.1', 'run'], {
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (c) => logs.push(c));
  child.stderr.on('data', (c) => logs.push(c));
  return {
    logs,
    async pair() {
      const { stdout } = await run(binary, [...base, 'pair']);
      const code = /\b[0-9A-Z]{4}(?:-[0-9A-Z]{1,4}){5,}\b/.exec(stdout);
      if (!code) throw new Error(`no pairing code in:\n${stdout}`);
      return code[0];
    },
    async revoke(deviceId) {
      const { stdout } = await run(binary, [...base, 'viewers', 'revoke', deviceId]);
      return stdout;
    },
    /** The persisted membership as `viewers list` prints it: [{deviceId, role, name, fingerprint}]. */
    async viewers() {
      const { stdout } = await run(binary, [...base, 'viewers', 'list']);
      return [...stdout.matchAll(/^([0-9a-f]{16}) {2}(owner|viewer)\s+(.*?)\s+added \d+ {2}fingerprint (\d+)$/gm)]
        .map(([, deviceId, role, name, fingerprint]) => ({ deviceId, role, name, fingerprint }));
    },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }),
  };
}

// The viewer app against this stack with the agent's testsrc: open, pair through the UI,
// wait for a live tile and check its picture. Shared by the agent-stack tests.

/**
 * The whole product for one camera: signaling (embedded SFU), the camera agent on testsrc
 * with a fresh state directory, and a viewer token granting that camera. `stop()` ends both
 * processes and removes the directory.
 */
export async function startAgentStack(cameraId) {
  const stack = await startSignaling();
  const dir = await mkdtemp(join(tmpdir(), `sealcam-${cameraId}-`));
  try {
    const viewerToken = await stack.token('viewer', [cameraId]);
    const agent = await startAgent({
      stateDir: join(dir, 'state'),
      cameraId,
      signalingOrigin: stack.origin,
      token: await stack.token('camera', [cameraId]),
      tokenFile: join(dir, 'agent.token'),
    });
    const stop = async () => {
      await agent.stop();
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    };
    return { origin: stack.origin, agent, viewerToken, stop };
  } catch (error) {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

export const tileSelector = (cameraId) => `.tile[data-camera-id="${cameraId}"]`;
/** testsrc's regions after BT.601 conversion (camera-agent/src/source/testsrc/pattern.rs). */
export const TESTSRC_COLOURS = { red: [255, 0, 0], green: [0, 255, 0], blue: [0, 0, 255] };
export const COLOUR_TOLERANCE = 48;
/** Probe points of the 640x480 pattern as fractions: upper regions at row 136, blue at 452. */
export const TESTSRC_PROBES = { red: [1 / 4, 136 / 480], green: [3 / 4, 136 / 480], blue: [1 / 4, 452 / 480] };

/** Largest per-channel distance of `rgb` from testsrc's `region` colour. */
export const colourOff = (rgb, region) => Math.max(...rgb.map((v, i) => Math.abs(v - TESTSRC_COLOURS[region][i])));

/** A fresh browser on the viewer app with `token` and transform `api`, optionally seeded. */
export async function openViewer({ origin, token, api, seed = null }) {
  const browser = await launchBrowser();
  const { page } = browser;
  await page.goto(`${origin}/`);
  assert.equal(await started(page), 'ready');
  if (seed) {
    await seedStore(page, seed);
    await page.reload();
    await started(page);
  }
  await page.goto(`${origin}/#token=${token}&transform=${api}`);
  await page.reload();
  await started(page);
  return browser;
}

/** Types `code` into the pairing form as a person would and waits for the outcome. */
export async function pairThroughUi(page, cameraId, code) {
  await page.waitForFunction((sel) => document.querySelector(sel) !== null, tileSelector(cameraId), { timeout: 15_000 });
  await page.getByLabel('Pairing code shown by the camera').fill(code);
  await page.getByRole('button', { name: 'Pair' }).click();
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('pair-status').dataset.state), null, { timeout: 20_000 });
  assert.equal(await page.locator('#pair-status').getAttribute('data-state'), 'done', await page.locator('#pair-status').textContent());
}

export const framesDecoded = async (page, cameraId) => Number((await page.locator(tileSelector(cameraId)).getAttribute('data-frames-decoded')) ?? 0);

export async function waitLive(page, cameraId) {
  await page.waitForFunction((sel) => {
    const tile = document.querySelector(sel);
    return tile?.dataset.status === 'live' && Number(tile.dataset.framesDecoded ?? 0) >= 30;
  }, tileSelector(cameraId), { timeout: 30_000 });
}

/** The decoded frame's colour at each testsrc probe (null while the video has no picture). */
export function sampleVideo(page, cameraId) {
  return page.evaluate(([sel, probes]) => {
    const video = document.querySelector(`${sel} video`);
    const { videoWidth: w, videoHeight: h } = video;
    if (!w || !h) return null;
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [w, h];
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    const at = ([x, y]) => [...ctx.getImageData(Math.floor(x * w), Math.floor(y * h), 1, 1).data.slice(0, 3)];
    return Object.fromEntries(Object.entries(probes).map(([region, xy]) => [region, at(xy)]));
  }, [tileSelector(cameraId), TESTSRC_PROBES]);
}

/**
 * What a person sees in the tile's stage: a screenshot of it, decoded in the page, read at
 * the red and blue probes (the stats overlay sits top right, over the green one).
 */
export async function renderedStage(page, cameraId) {
  const png = await page.locator(`${tileSelector(cameraId)} .stage`).screenshot();
  const { red, blue } = TESTSRC_PROBES;
  return page.evaluate(async ([base64, probes]) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    const at = ([x, y]) => [...ctx.getImageData(Math.floor(x * bitmap.width), Math.floor(y * bitmap.height), 1, 1).data.slice(0, 3)];
    return Object.fromEntries(Object.entries(probes).map(([region, xy]) => [region, at(xy)]));
  }, [png.toString('base64'), { red, blue }]);
}

/** The tile decodes testsrc: every region's colour, the pixel strip read, no decrypt failure. */
export async function assertPicture(page, cameraId) {
  const tile = tileSelector(cameraId);
  const sample = await sampleVideo(page, cameraId);
  assert.ok(sample, 'the video has a picture');
  for (const [region, want] of Object.entries(TESTSRC_COLOURS)) {
    assert.ok(colourOff(sample[region], region) <= COLOUR_TOLERANCE, `${region}: got rgb(${sample[region]}) want rgb(${want})`);
  }
  assert.match(await page.locator(tile).getAttribute('data-strip-frame'), /^\d+$/, 'testsrc strip read');
  assert.equal(await page.locator(tile).getAttribute('data-failed'), '0');
}
