// The whole media chain in Chromium: a stand-in camera page (H.264, SFrame-protected by the
// test sender) publishes through the real signaling binary and its embedded SFU; the real
// viewer app subscribes and decrypts in its worker — with each transform API. A paired
// viewer sees the camera's exact colour regions with zero decrypt failures; a viewer the
// camera does not answer shows "Not authorized (no key)", never subscribes, and has no
// picture; a viewer that never paired shows "Not paired". Chromium's media is sealed by
// the SFU's direct send path. (The camera agent with testsrc
// replaces the stand-in once it runs in tests; the assertions stay the same.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, started, screenshot } from './harness.mjs';
import { startSignaling } from './stack.mjs';
import { seedStore, wasmFixture } from './fixtures.mjs';
import { loadDecryptor } from '../js/wasm-loader.mjs';

const fixture = wasmFixture();
const VP8_KEY = JSON.parse(readFileSync(new URL('../../e2ee/tests/vectors/vp8_key.json', import.meta.url), 'utf8')).key_hex;
const EXPECTED = { red: [255, 0, 0], green: [0, 200, 0], blue: [0, 0, 255] };
const TOLERANCE = 40;
let stack;
let files;
let camera;
let viewerToken;

before(async () => {
  assert.ok(fixture, 'e2ee/tests/vectors/wasm_fixture.json is missing: cargo run -p e2ee --example gen_wasm_fixture fixture');
  stack = await startSignaling();
  files = await startServer({ testFiles: true });
  const wasm = await loadDecryptor();
  const devicePublicHex = Buffer.from(wasm.ViewerDevice.fromBytes(Buffer.from(fixture.viewer_device_hex, 'hex')).publicKeys()).toString('hex');
  viewerToken = await stack.token('viewer', [fixture.camera_id]);
  const cameraToken = await stack.token('camera', [fixture.camera_id]);
  camera = await launchBrowser();
  await camera.page.goto(`${files.origin}/__test__/publisher.html`);
  await camera.page.evaluate(async (options) => {
    const { startCamera } = await import('/__test__/publisher.mjs');
    await startCamera(options);
  }, { wsUrl: `${stack.origin.replace('http', 'ws')}/ws`, token: cameraToken, fixture, keyHex: VP8_KEY, devicePublicHex });
});

after(async () => {
  await camera?.close();
  await files?.close();
  await stack?.stop();
});

/** A viewer browser with the given stored state, signed in, at the fixture's clock. */
async function openViewer({ deviceHex = null, pinned = true, api }) {
  const browser = await launchBrowser();
  const { page } = browser;
  await page.clock.install({ time: fixture.now * 1000 });
  await page.goto(`${stack.origin}/`);
  assert.equal(await started(page), 'ready', browser.logs.join('\n'));
  const cameras = pinned ? [{ cameraId: fixture.camera_id, publicHex: fixture.camera_public_hex, role: 'viewer' }] : [];
  await seedStore(page, { deviceHex, cameras });
  await page.goto(`${stack.origin}/#token=${viewerToken}&transform=${api}`);
  await page.reload();
  assert.equal(await started(page), 'ready');
  assert.equal(await page.evaluate(() => document.body.dataset.transform), api);
  return browser;
}

const selector = `.tile[data-camera-id="${fixture?.camera_id}"]`;

/** Viewers whose media the SFU sealed itself (its direct send path), from /metrics. */
async function directSendSessions() {
  const text = await (await fetch(`${stack.origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sfu_direct_send_sessions_total '));
  assert.ok(line, 'the SFU exports sfu_direct_send_sessions_total');
  return Number(line.split(' ')[1]);
}

async function samplePixels(page) {
  return page.evaluate((sel) => {
    const video = document.querySelector(`${sel} video`);
    const { videoWidth: w, videoHeight: h } = video;
    if (!w || !h) return null;
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [w, h];
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    const at = (x, y) => [...ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data.slice(0, 3)];
    return { red: at(w / 4, h / 4), green: at((3 * w) / 4, h / 4), blue: at(w / 4, (3 * h) / 4) };
  }, selector);
}

for (const api of ['script-transform', 'encoded-streams']) {
  test(`paired viewer (${api}): live picture with the camera's colours, no decrypt failures`, async () => {
    const directBefore = await directSendSessions();
    const browser = await openViewer({ deviceHex: fixture.viewer_device_hex, api });
    try {
      const { page } = browser;
      await page.waitForFunction((sel) => {
        const tile = document.querySelector(sel);
        return tile?.dataset.status === 'live' && Number(tile.dataset.framesDecoded ?? 0) >= 30;
      }, selector, { timeout: 30_000 });
      const first = Number(await page.locator(selector).getAttribute('data-frames-decoded'));
      await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.framesDecoded) > n, [selector, first], { timeout: 10_000 });
      const pixels = await samplePixels(page);
      assert.ok(pixels, 'the video has a picture');
      for (const [region, want] of Object.entries(EXPECTED)) {
        const off = Math.max(...pixels[region].map((v, i) => Math.abs(v - want[i])));
        assert.ok(off <= TOLERANCE, `${region}: got rgb(${pixels[region]}) want rgb(${want})`);
      }
      await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.decrypted ?? 0) > 0, selector);
      assert.equal(await page.locator(selector).getAttribute('data-failed'), '0');
      // Chromium's packets were sealed by the SFU itself (AES-GCM SRTP), not by str0m.
      assert.equal(await directSendSessions(), directBefore + 1);
      await screenshot(page, `viewer-full-chain-${api}-paired`);
    } finally {
      await browser.close();
    }
  });
}

test('a paired device the camera does not answer: "Not authorized (no key)", no subscribe, no picture', async () => {
  const before = await camera.page.evaluate(() => globalThis.cameraState.keyRequests);
  const browser = await openViewer({ api: 'script-transform' });
  try {
    const { page } = browser;
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'no-key', selector, { timeout: 30_000 });
    assert.equal(await page.locator(`${selector} .veil`).textContent(), 'Not authorized (no key)');
    assert.equal(await samplePixels(page), null, 'no picture');
    assert.equal(await page.locator(selector).getAttribute('data-frames-decoded'), null, 'never subscribed');
    const after = await camera.page.evaluate(() => globalThis.cameraState.keyRequests);
    assert.ok(after - before >= 3, 'the camera was asked for a key');
    await screenshot(page, 'viewer-full-chain-not-authorized');
  } finally {
    await browser.close();
  }
});

test('a device that never paired shows "Not paired" and asks for nothing', async () => {
  const browser = await openViewer({ pinned: false, api: 'script-transform' });
  try {
    const { page } = browser;
    await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'unpaired', selector, { timeout: 15_000 });
    assert.match(await page.locator(`${selector} .veil`).textContent(), /Not paired/);
    assert.equal(await samplePixels(page), null);
  } finally {
    await browser.close();
  }
});
