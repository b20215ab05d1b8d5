// The viewer against a scripted fake signaling server (real WebSocket, real WASM, real
// Chromium): the token travels only in `hello`, tiles follow camera_status, a keyless
// viewer never subscribes and ends up showing "not authorized", and — with the shared WASM
// fixture — pairing through the UI pins the camera and its key arrives.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, screenshot, started, firstMessage, recordMessages } from './harness.mjs';
import { cameraPublicBytes, viewerPublicBytes, membershipBytes, seedStore, wasmFixture } from './fixtures.mjs';
import { KEY_ATTEMPTS, KEY_RETRY_MS } from '../../web-viewer/js/camera-state.js';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJl';
let server;
let onSocket = () => {};

before(async () => {
  server = await startServer({ onSocket: (ws) => onSocket(ws) });
});

after(async () => {
  await server.close();
});

/**
 * A fake server session: welcome with `cameras`, then one camera_status each. The returned
 * list of sessions also has `arrival()`: a promise of the next session to connect.
 */
function welcomeWith(cameras, { online = false, publishing = false, onMessage = () => {} } = {}) {
  const sessions = [];
  const waiting = [];
  sessions.arrival = () => new Promise((resolve) => waiting.push(resolve));
  onSocket = (ws) => {
    const seen = recordMessages(ws);
    const session = { ws, seen, url: ws.request.url };
    sessions.push(session);
    for (const resolve of waiting.splice(0)) resolve(session);
    ws.on('message', (text) => {
      const message = JSON.parse(text);
      if (message.type === 'hello') {
        ws.send({ type: 'welcome', version: 1, role: 'viewer', cameras, session_id: `v-${sessions.length}` });
        for (const id of cameras) ws.send({ type: 'camera_status', camera_id: id, online, publishing });
        return;
      }
      onMessage(ws, message);
    });
  };
  return sessions;
}

const tileStatus = (page, id) => page.locator(`.tile[data-camera-id="${id}"]`).getAttribute('data-status');

async function waitForStatus(page, id, status, timeout = 15_000) {
  await page.waitForFunction(([cam, want]) => document.querySelector(`.tile[data-camera-id="${cam}"]`)?.dataset.status === want, [id, status], { timeout });
}

test('the token from the fragment goes only into hello and leaves the address bar', async () => {
  const sessions = welcomeWith(['front-door', 'garage']);
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.origin}/#token=${TOKEN}`);
    assert.equal(await started(page), 'ready');
    await waitForStatus(page, 'garage', 'unpaired');
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0].url, '/ws', 'no token or anything else in the socket URL');
    assert.deepEqual(sessions[0].seen[0], { type: 'hello', version: 1, token: TOKEN });
    assert.equal(new URL(page.url()).hash, '', 'token scrubbed from the address bar');
    assert.equal(await page.locator('#connection').textContent(), 'Connected · 2 camera(s)');
    assert.match(await page.locator('.tile[data-camera-id="front-door"] .veil').textContent(), /Not paired/);
    // The pairing form offers exactly the granted cameras.
    assert.deepEqual(await page.locator('#pair-camera option').allTextContents(), ['front-door', 'garage']);
    await screenshot(page, 'viewer-signed-in-unpaired');

    // The server goes away: the page says so and comes back by itself.
    sessions[0].ws.close();
    await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'reconnecting', null, { timeout: 5_000 });
    assert.match(await page.locator('#connection').textContent(), /Connection lost · retrying in \d+ s/);
    const deadline = Date.now() + 15_000;
    while (sessions.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(sessions.length, 2, 'reconnected');
    await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'connected', null, { timeout: 5_000 });
    assert.deepEqual(sessions[1].seen[0], { type: 'hello', version: 1, token: TOKEN });
  } finally {
    await browser.close();
  }
});

test('a paired camera that sends no key: key requests, then "not authorized", never a subscribe', async () => {
  const cameraPublic = cameraPublicBytes('front-door');
  const sessions = welcomeWith(['front-door'], { online: true, publishing: true });
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.origin}/`);
    await started(page);
    await seedStore(page, { cameras: [{ cameraId: 'front-door', publicHex: cameraPublic.toString('hex'), role: 'viewer' }] });
    await page.goto(`${server.origin}/#token=${TOKEN}`);
    await page.reload();
    await started(page);
    await waitForStatus(page, 'front-door', 'waiting-key');
    const tile = page.locator('.tile[data-camera-id="front-door"]');
    assert.match(await tile.locator('.fingerprint').textContent(), /^Camera fingerprint: \d{5}( \d{5}){11}$/);
    await waitForStatus(page, 'front-door', 'no-key', KEY_RETRY_MS * (KEY_ATTEMPTS + 2));
    assert.equal(await tile.locator('.veil').textContent(), 'Not authorized (no key)');
    await screenshot(page, 'viewer-not-authorized');

    const seen = sessions.at(-1).seen;
    const requests = seen.filter((m) => m.type === 'key_request');
    assert.equal(requests.length, KEY_ATTEMPTS);
    const deviceId = await page.locator('#device-id').textContent();
    for (const r of requests) {
      assert.equal(r.camera_id, 'front-door');
      const bytes = Buffer.from(r.payload, 'base64');
      assert.equal(bytes[0], 0x04, 'payload is ViewerPublic bytes');
      assert.equal(bytes.subarray(3, 3 + bytes[2]).toString(), 'Chromium on Linux');
    }
    assert.match(deviceId, /^[0-9a-f]{16}$/);
    assert.deepEqual(seen.filter((m) => m.type === 'subscribe'), [], 'a keyless viewer never subscribes');
  } finally {
    await browser.close();
  }
});

const fixture = wasmFixture();

test('pairing through the UI pins the camera, then its key arrives and media is requested', async () => {
  assert.ok(fixture, 'e2ee/tests/vectors/wasm_fixture.json is missing: cargo run -p e2ee --example gen_wasm_fixture fixture');
  const cameraId = fixture.camera_id;
  const envelopes = fixture.envelopes.map((e) => Buffer.from(e.envelope_hex, 'hex').toString('base64'));
  let membership = Buffer.alloc(0);
  let pairAnswer = Buffer.concat([Buffer.from([0x00]), Buffer.from(fixture.other_camera_public_hex, 'hex'), Buffer.from([0x01])]);
  const sessions = welcomeWith([cameraId], {
    online: true,
    publishing: true,
    onMessage: (ws, message) => {
      if (message.type === 'pair_request') {
        ws.send({ type: 'pair_response', camera_id: cameraId, payload: pairAnswer.toString('base64') });
      } else if (message.type === 'key_request') {
        for (const payload of envelopes) ws.send({ type: 'key_envelope', camera_id: cameraId, payload });
      } else if (message.type === 'owner_command' && message.payload === 'TA==') {
        ws.send({ type: 'owner_result', camera_id: cameraId, payload: Buffer.concat([Buffer.from([0]), membership]).toString('base64') });
      }
    },
  });
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.clock.install({ time: fixture.pairing.now * 1000 });
    await page.goto(`${server.origin}/`);
    await started(page);
    // The fixture's device, so the fixture's envelopes are sealed to this browser.
    await seedStore(page, { deviceHex: fixture.viewer_device_hex });
    await page.goto(`${server.origin}/#token=${TOKEN}`);
    await page.reload();
    await started(page);
    await waitForStatus(page, cameraId, 'unpaired');

    // A server that answers with another camera's key is caught by the code's commitment.
    await page.getByLabel('Pairing code shown by the camera').fill(fixture.pairing.code);
    await page.getByRole('button', { name: 'Pair' }).click();
    await page.waitForFunction(() => document.getElementById('pair-status').dataset.state === 'error');
    assert.match(await page.locator('#pair-status').textContent(), /does not match this pairing code/);
    assert.equal(await tileStatus(page, cameraId), 'unpaired');
    await screenshot(page, 'viewer-pairing-wrong-camera');

    pairAnswer = Buffer.concat([Buffer.from([0x00]), Buffer.from(fixture.camera_public_hex, 'hex'), Buffer.from([0x01])]);
    await page.getByRole('button', { name: 'Pair' }).click();
    await page.waitForFunction(() => document.getElementById('pair-status').dataset.state === 'done');
    assert.equal(await page.locator('#pair-fingerprint').textContent(), fixture.camera_fingerprint);
    const session = sessions.at(-1);
    const enrollment = Buffer.from(session.seen.find((m) => m.type === 'pair_request').payload, 'base64');
    assert.equal(enrollment[0], 0x07, 'pair_request carries an Enrollment');

    // Paired → key requested → envelopes opened → media requested, in that order.
    const subscribe = await firstMessage(session, 'subscribe');
    assert.equal(subscribe.camera_id, cameraId);
    assert.match(subscribe.sdp, /m=video/);
    assert.match(subscribe.sdp, /a=recvonly/);
    const order = session.seen.map((m) => m.type).filter((t) => ['pair_request', 'key_request', 'subscribe'].includes(t));
    assert.deepEqual(order.slice(-3), ['pair_request', 'key_request', 'subscribe']);
    const tile = page.locator(`.tile[data-camera-id="${cameraId}"]`);
    const newest = Math.max(...fixture.envelopes.map((e) => e.generation));
    assert.equal(await tile.getAttribute('data-generation'), String(newest));
    assert.equal(await tile.getAttribute('data-role'), 'owner');
    assert.equal(await tile.locator('.fingerprint').textContent(), `Camera fingerprint: ${fixture.camera_fingerprint}`);
    await screenshot(page, 'viewer-paired-keyed');

    // Owner tools: the member list shows every device with its fingerprint.
    const ownCode = await page.locator('#device-code').inputValue();
    const ownPublic = Buffer.from(ownCode.replace('sealcam-device:', ''), 'base64');
    const other = viewerPublicBytes('kitchen tablet');
    membership = membershipBytes(cameraId, 3, [[ownPublic, 1], [other, 2]]);
    await tile.getByRole('button', { name: 'Members' }).click();
    const dialog = page.locator('#members-dialog');
    await page.waitForFunction(() => document.querySelectorAll('#members-list li').length === 2);
    assert.match(await page.locator('#members-status').textContent(), /2 device\(s\), list version 3/);
    const rows = await dialog.locator('#members-list li').allInnerTexts();
    assert.match(rows[0], /fixture viewer · owner/);
    assert.match(rows[0], new RegExp(await page.locator('#device-fingerprint').textContent()));
    assert.match(rows[1], /kitchen tablet · viewer/);
    assert.equal(await dialog.getByRole('button', { name: 'This device' }).isDisabled(), true, 'an owner cannot revoke itself here');
    // A device code pasted for approval shows the newcomer's fingerprint to compare.
    await dialog.getByLabel('Device code from the new device').fill(`sealcam-device:${other.toString('base64')}`);
    await dialog.getByRole('button', { name: 'Check' }).click();
    await page.waitForFunction(() => !document.getElementById('approve-check').hidden);
    assert.equal(await page.locator('#approve-name').textContent(), 'kitchen tablet');
    assert.match(await page.locator('#approve-fingerprint').textContent(), /^\d{5}( \d{5}){11}$/);
    await screenshot(page, 'viewer-owner-members');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // Reload keeps the device and the pairing: the key is asked for again without a code.
    const reconnected = sessions.arrival();
    await page.reload();
    await started(page);
    await firstMessage(await reconnected, 'subscribe');
    assert.equal(await page.locator(`.tile[data-camera-id="${cameraId}"]`).getAttribute('data-role'), 'owner');
  } finally {
    await browser.close();
  }
});
