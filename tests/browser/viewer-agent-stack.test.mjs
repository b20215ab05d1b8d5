// The whole product on 127.0.0.1: the signaling binary with its embedded SFU, the real
// camera agent with testsrc (openh264, SFrame), and the real viewer app in Chromium.
// - paired viewers (one per transform API) see testsrc's colour regions, the pixel strip
//   reads back, decrypt failures stay 0 and framesDecoded grows;
// - after `camera-agent viewers revoke`, the revoked viewer's picture stops and it shows
//   "Not authorized (no key)" while the other viewer goes on under a newer key generation;
// - a device that knows the camera but was never admitted gets no key, never subscribes
//   and has no picture (H.264 ciphertext could "decode" to garbage: pixels are checked);
// - a tile goes live on its first decrypted picture, with no help from the stats poll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot, started } from './harness.mjs';
import {
  startAgentStack, tileSelector, openViewer as openViewerApp, pairThroughUi, framesDecoded, waitLive, assertPicture,
  sampleVideo, renderedStage, colourOff, COLOUR_TOLERANCE,
} from './stack.mjs';

const CAMERA = 'front-door';
const TILE = tileSelector(CAMERA);
let stack;
let agent;
let viewerToken;

before(async () => {
  stack = await startAgentStack(CAMERA);
  ({ agent, viewerToken } = stack);
});

after(async () => {
  await stack?.stop();
});

const openViewer = (api, seed = null) => openViewerApp({ origin: stack.origin, token: viewerToken, api, seed });

test('paired viewers see testsrc with each API; a revoked one stops, the other goes on', async () => {
  const owner = await openViewer('script-transform');
  const guest = await openViewer('encoded-streams');
  try {
    await pairThroughUi(owner.page, CAMERA, await agent.pair());
    await waitLive(owner.page, CAMERA);
    await assertPicture(owner.page, CAMERA);
    await screenshot(owner.page, 'viewer-stack-owner-live');

    await pairThroughUi(guest.page, CAMERA, await agent.pair());
    await waitLive(guest.page, CAMERA);
    await assertPicture(guest.page, CAMERA);
    await screenshot(guest.page, 'viewer-stack-guest-live');
    const ownerGeneration = Number(await owner.page.locator(TILE).getAttribute('data-generation'));

    await agent.revoke(await guest.page.locator('#device-id').textContent());
    await guest.page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'no-key', TILE, { timeout: 30_000 });
    assert.equal(await guest.page.locator(`${TILE} .veil`).textContent(), 'Not authorized (no key)');
    await screenshot(guest.page, 'viewer-stack-guest-revoked');

    // The owner moved to a newer generation and its picture keeps coming.
    await owner.page.waitForFunction(([sel, g]) => Number(document.querySelector(sel)?.dataset.generation) > g, [TILE, ownerGeneration], { timeout: 15_000 });
    const before = await framesDecoded(owner.page, CAMERA);
    await owner.page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.framesDecoded) > n + 30, [TILE, before], { timeout: 15_000 });
    await assertPicture(owner.page, CAMERA);
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
    await pairThroughUi(scout.page, CAMERA, await agent.pair());
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

test('a tile goes live on its first decrypted picture, with no help from the stats poll', async () => {
  const viewer = await openViewer('script-transform');
  const { page } = viewer;
  try {
    // getStats reports nothing here, so only the video's own first frame can lift the veil.
    await page.addInitScript(() => {
      RTCPeerConnection.prototype.getStats = async () => new Map();
    });
    await page.reload();
    await started(page);
    await pairThroughUi(page, CAMERA, await agent.pair());
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'live', TILE, { timeout: 30_000 });
    assert.equal(await framesDecoded(page, CAMERA), 0, 'the stats poll saw no frames');
    const decoded = await sampleVideo(page, CAMERA);
    assert.ok(decoded, 'the video has a picture once the tile is live');
    const seen = await renderedStage(page, CAMERA);
    for (const region of ['red', 'blue']) {
      assert.ok(colourOff(decoded[region], region) <= COLOUR_TOLERANCE, `decoded ${region}: rgb(${decoded[region]})`);
      assert.ok(colourOff(seen[region], region) <= COLOUR_TOLERANCE, `on screen ${region}: rgb(${seen[region]})`);
    }
  } finally {
    await viewer.close();
  }
});
