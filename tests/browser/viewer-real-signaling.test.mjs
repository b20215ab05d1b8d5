// The viewer against the real `signaling` binary (no SFU media yet): the page as signaling
// serves it, a real viewer token, a scripted camera on a real camera token, and the opaque
// relays in between — pairing through the UI, the key envelope, presence, and the server's
// own refusal of a bad token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, started, screenshot } from './harness.mjs';
import { startSignaling, connectCamera } from './stack.mjs';
import { seedStore, wasmFixture } from './fixtures.mjs';

const fixture = wasmFixture();
let stack;

before(async () => {
  stack = await startSignaling();
});

after(async () => {
  await stack?.stop();
});

const tile = (page, id) => page.locator(`.tile[data-camera-id="${id}"]`);

async function waitFor(page, fn, arg, timeout = 15_000) {
  await page.waitForFunction(fn, arg, { timeout });
}

test('pairing, key delivery and presence through the real signaling relays', async () => {
  assert.ok(fixture, 'e2ee/tests/vectors/wasm_fixture.json is missing: cargo run -p e2ee --example gen_wasm_fixture fixture');
  const cameraId = fixture.camera_id;
  const viewerToken = await stack.token('viewer', [cameraId]);
  const cameraToken = await stack.token('camera', [cameraId]);
  const browser = await launchBrowser();
  let camera = null;
  try {
    const { page, logs } = browser;
    await page.clock.install({ time: fixture.pairing.now * 1000 });
    await page.goto(`${stack.origin}/`);
    assert.equal(await started(page), 'ready', logs.join('\n'));
    await seedStore(page, { deviceHex: fixture.viewer_device_hex });
    await page.goto(`${stack.origin}/#token=${viewerToken}`);
    await page.reload();
    await started(page);
    await waitFor(page, (id) => document.querySelector(`.tile[data-camera-id="${id}"]`)?.dataset.status === 'unpaired', cameraId);
    assert.equal(await tile(page, cameraId).locator('.presence').textContent(), 'Offline');

    // The camera connects: the viewer sees it online within the server's status push.
    camera = await connectCamera(stack.origin, cameraToken);
    camera.ws.on('message', (text) => {
      const m = JSON.parse(text);
      if (m.type === 'pair_request') {
        const answer = Buffer.concat([Buffer.from([0]), Buffer.from(fixture.camera_public_hex, 'hex'), Buffer.from([1])]);
        camera.ws.send({ type: 'pair_response', to: m.from, payload: answer.toString('base64') });
      } else if (m.type === 'key_request') {
        for (const e of fixture.envelopes) {
          camera.ws.send({ type: 'key_envelope', to: m.from, payload: Buffer.from(e.envelope_hex, 'hex').toString('base64') });
        }
      }
    });
    await waitFor(page, (id) => document.querySelector(`.tile[data-camera-id="${id}"] .presence`)?.textContent === 'Online', cameraId);

    await page.getByLabel('Pairing code shown by the camera').fill(fixture.pairing.code);
    await page.getByRole('button', { name: 'Pair' }).click();
    await waitFor(page, () => ['done', 'error'].includes(document.getElementById('pair-status').dataset.state));
    assert.equal(await page.locator('#pair-status').getAttribute('data-state'), 'done', await page.locator('#pair-status').textContent());
    assert.equal(await page.locator('#pair-fingerprint').textContent(), fixture.camera_fingerprint);

    // The relayed request reached the camera with the server-added sender id; the camera's
    // envelope came back through `to`, and the page now holds the key.
    const pairRequest = camera.received.find((m) => m.type === 'pair_request');
    assert.equal(pairRequest.camera_id, cameraId);
    assert.match(pairRequest.from, /\S/);
    const newest = Math.max(...fixture.envelopes.map((e) => e.generation));
    await waitFor(page, ([id, g]) => document.querySelector(`.tile[data-camera-id="${id}"]`)?.dataset.generation === g, [cameraId, String(newest)]);
    const keyRequest = camera.received.find((m) => m.type === 'key_request');
    assert.equal(Buffer.from(keyRequest.payload, 'base64')[0], 0x04, 'key_request carries ViewerPublic bytes');
    // Online but not publishing media: the page waits instead of subscribing.
    assert.equal(await tile(page, cameraId).getAttribute('data-status'), 'idle');
    await screenshot(page, 'viewer-real-signaling-paired');

    camera.ws.close();
    camera = null;
    await waitFor(page, (id) => document.querySelector(`.tile[data-camera-id="${id}"]`)?.dataset.status === 'offline', cameraId);
  } finally {
    camera?.ws.close();
    await browser.close();
  }
});

test('a token the server rejects ends the session with its sentence, no reconnect loop', async () => {
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.goto(`${stack.origin}/#token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.Zm9yZ2Vk`);
    await started(page);
    await waitFor(page, () => document.getElementById('connection').dataset.state === 'signed-out' && document.getElementById('signin-error').textContent !== '');
    assert.match(await page.locator('#signin-error').textContent(), /token/i);
    assert.equal(await page.locator('#signin-form').isVisible(), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('sealcam.token')), null, 'a refused token is not kept');
    await screenshot(page, 'viewer-real-signaling-bad-token');
  } finally {
    await browser.close();
  }
});
