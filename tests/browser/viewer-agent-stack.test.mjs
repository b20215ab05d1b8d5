// The whole product on 127.0.0.1: the signaling binary with its embedded SFU, the real
// camera agent with testsrc (openh264, SFrame), and the real viewer app in Chromium.
// - paired viewers (one per transform API) see testsrc's colour regions, the pixel strip
//   reads back, decrypt failures stay 0 and framesDecoded grows;
// - after `camera-agent viewers revoke`, the revoked viewer's picture stops and it shows
//   "Not authorized (no key)" while the other viewer goes on under a newer key generation;
// - a device that knows the camera but was never admitted gets no key, never subscribes
//   and has no picture (H.264 ciphertext could "decode" to garbage: pixels are checked).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, started, screenshot } from './harness.mjs';
import { startSignaling, startAgent } from './stack.mjs';
import { seedStore } from './fixtures.mjs';

const CAMERA = 'front-door';
const TILE = `.tile[data-camera-id="${CAMERA}"]`;
/** testsrc's regions after BT.601 conversion (camera-agent/src/source/testsrc/pattern.rs). */
const EXPECTED = { red: [255, 0, 0], green: [0, 255, 0], blue: [0, 0, 255] };
const TOLERANCE = 48;
let stack;
let agent;
let dir;
let viewerToken;

before(async () => {
  stack = await startSignaling();
  dir = await mkdtemp(join(tmpdir(), 'sealcam-agent-'));
  viewerToken = await stack.token('viewer', [CAMERA]);
  agent = await startAgent({
    stateDir: join(dir, 'state'),
    cameraId: CAMERA,
    signalingOrigin: stack.origin,
    token: await stack.token('camera', [CAMERA]),
    tokenFile: join(dir, 'agent.token'),
  });
});

after(async () => {
  await agent?.stop();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function openViewer(api, seed = null) {
  const browser = await launchBrowser();
  const { page } = browser;
  await page.goto(`${stack.origin}/`);
  assert.equal(await started(page), 'ready');
  if (seed) {
    await seedStore(page, seed);
    await page.reload();
    await started(page);
  }
  await page.goto(`${stack.origin}/#token=${viewerToken}&transform=${api}`);
  await page.reload();
  await started(page);
  return browser;
}

async function pairThroughUi(page, code) {
  await page.waitForFunction((sel) => document.querySelector(sel) !== null, TILE, { timeout: 15_000 });
  await page.getByLabel('Pairing code shown by the camera').fill(code);
  await page.getByRole('button', { name: 'Pair' }).click();
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('pair-status').dataset.state), null, { timeout: 20_000 });
  assert.equal(await page.locator('#pair-status').getAttribute('data-state'), 'done', await page.locator('#pair-status').textContent());
}

const framesDecoded = async (page) => Number((await page.locator(TILE).getAttribute('data-frames-decoded')) ?? 0);

async function waitLive(page) {
  await page.waitForFunction((sel) => {
    const tile = document.querySelector(sel);
    return tile?.dataset.status === 'live' && Number(tile.dataset.framesDecoded ?? 0) >= 30;
  }, TILE, { timeout: 30_000 });
}

async function assertPicture(page) {
  const sample = await page.evaluate((sel) => {
    const video = document.querySelector(`${sel} video`);
    const { videoWidth: w, videoHeight: h } = video;
    if (!w || !h) return null;
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [w, h];
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    const at = (x, y) => [...ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data.slice(0, 3)];
    // Probe points of the 640x480 pattern, scaled: upper regions at row 136, blue at 452.
    return { red: at(w / 4, (136 / 480) * h), green: at((3 * w) / 4, (136 / 480) * h), blue: at(w / 4, (452 / 480) * h) };
  }, TILE);
  assert.ok(sample, 'the video has a picture');
  for (const [region, want] of Object.entries(EXPECTED)) {
    const off = Math.max(...sample[region].map((v, i) => Math.abs(v - want[i])));
    assert.ok(off <= TOLERANCE, `${region}: got rgb(${sample[region]}) want rgb(${want})`);
  }
  assert.match(await page.locator(TILE).getAttribute('data-strip-frame'), /^\d+$/, 'testsrc strip read');
  assert.equal(await page.locator(TILE).getAttribute('data-failed'), '0');
}

test('paired viewers see testsrc with each API; a revoked one stops, the other goes on', async () => {
  const owner = await openViewer('script-transform');
  const guest = await openViewer('encoded-streams');
  try {
    await pairThroughUi(owner.page, await agent.pair());
    await waitLive(owner.page);
    await assertPicture(owner.page);
    await screenshot(owner.page, 'viewer-stack-owner-live');

    await pairThroughUi(guest.page, await agent.pair());
    await waitLive(guest.page);
    await assertPicture(guest.page);
    await screenshot(guest.page, 'viewer-stack-guest-live');
    const ownerGeneration = Number(await owner.page.locator(TILE).getAttribute('data-generation'));

    await agent.revoke(await guest.page.locator('#device-id').textContent());
    await guest.page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'no-key', TILE, { timeout: 30_000 });
    assert.equal(await guest.page.locator(`${TILE} .veil`).textContent(), 'Not authorized (no key)');
    await screenshot(guest.page, 'viewer-stack-guest-revoked');

    // The owner moved to a newer generation and its picture keeps coming.
    await owner.page.waitForFunction(([sel, g]) => Number(document.querySelector(sel)?.dataset.generation) > g, [TILE, ownerGeneration], { timeout: 15_000 });
    const before = await framesDecoded(owner.page);
    await owner.page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.framesDecoded) > n + 30, [TILE, before], { timeout: 15_000 });
    await assertPicture(owner.page);
  } finally {
    await owner.close();
    await guest.close();
  }
});

test('a device that was never admitted gets no key, no media and no picture', async () => {
  // Learn the camera's public key the way any viewer could (a completed pairing), then
  // give it to a fresh device that never paired.
  const scout = await openViewer('script-transform');
  let cameraPublicHex;
  try {
    await pairThroughUi(scout.page, await agent.pair());
    cameraPublicHex = await scout.page.evaluate(async (id) => {
      const db = await new Promise((resolve) => { const r = indexedDB.open('sealcam', 1); r.onsuccess = () => resolve(r.result); });
      const rec = await new Promise((resolve) => { const r = db.transaction('cameras').objectStore('cameras').get(id); r.onsuccess = () => resolve(r.result); });
      return Array.from(new Uint8Array(rec.cameraPublic), (b) => b.toString(16).padStart(2, '0')).join('');
    }, CAMERA);
  } finally {
    await scout.close();
  }
  const stranger = await openViewer('script-transform', { cameras: [{ cameraId: CAMERA, publicHex: cameraPublicHex, role: 'viewer' }] });
  try {
    const { page } = stranger;
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'no-key', TILE, { timeout: 30_000 });
    assert.equal(await page.locator(`${TILE} .veil`).textContent(), 'Not authorized (no key)');
    assert.equal(await page.locator(TILE).getAttribute('data-frames-decoded'), null, 'never subscribed');
    assert.equal(await page.evaluate((sel) => document.querySelector(`${sel} video`).videoWidth, TILE), 0, 'no picture');
    await screenshot(page, 'viewer-stack-stranger');
  } finally {
    await stranger.close();
  }
});
