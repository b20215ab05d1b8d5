// Pairing as the page runs it (web-viewer/js/pairing.js) with the real WASM module and the
// shared fixture: a correct answer pins the camera, a substituted camera key is refused,
// refusals and expired codes carry their sentence. Also: device ids the page recomputes
// from member lists equal the ones e2ee derives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDecryptor, readVector, fromHex } from './wasm-loader.mjs';
import { pairCamera, PairingError } from '../../web-viewer/js/pairing.js';
import { deviceIdOf, describeDevice } from '../../web-viewer/js/membership.js';
import { fingerprintOf, ROLE_CAMERA } from '../../web-viewer/js/fingerprint.js';
import { parseViewerPublic, peekEnvelope, cameraIdOf } from '../../web-viewer/js/wire.js';

const wasm = await loadDecryptor();
const fixture = readVector('wasm_fixture.json');
const cameraPublic = fromHex(fixture.camera_public_hex);

/** A signaling stand-in: every pair_request is answered with `reply(request)`. */
function fakeSignaling(reply) {
  const sent = [];
  let waiter = null;
  return {
    sent,
    send(message) {
      sent.push(message);
      const answer = reply(message);
      queueMicrotask(() => {
        if (answer && waiter && waiter.match(answer) === 'accept') waiter.resolve(answer);
        else if (answer && waiter && waiter.match(answer) === 'reject') waiter.reject(new Error(answer.message));
      });
      return true;
    },
    waitFor(match) {
      return new Promise((resolve, reject) => { waiter = { match, resolve, reject }; });
    },
  };
}

const answerWith = (bytes) => () => ({ type: 'pair_response', camera_id: fixture.camera_id, payload: Buffer.from(bytes).toString('base64') });
const success = (camera) => Uint8Array.from([0x00, ...camera, 0x02]);

test('a correct pair_response pins the camera the code names', async () => {
  const device = wasm.ViewerDevice.generate('test phone');
  const signaling = fakeSignaling(answerWith(success(cameraPublic)));
  const paired = await pairCamera({
    wasm, device, signaling, cameraId: fixture.camera_id, codeText: fixture.pairing.code, nowSecs: fixture.pairing.now,
  });
  assert.equal(paired.role, 'viewer');
  assert.equal(paired.fingerprint, fixture.camera_fingerprint);
  assert.deepEqual(paired.cameraPublic, cameraPublic);
  assert.equal(signaling.sent.length, 1);
  assert.equal(signaling.sent[0].type, 'pair_request');
  assert.equal(signaling.sent[0].camera_id, fixture.camera_id);
  assert.equal(Buffer.from(signaling.sent[0].payload, 'base64')[0], 0x07, 'an Enrollment object');
});

test('a substituted camera key is refused and nothing is returned to pin', async () => {
  const device = wasm.ViewerDevice.generate('test phone');
  const signaling = fakeSignaling(answerWith(success(fromHex(fixture.other_camera_public_hex))));
  await assert.rejects(
    pairCamera({ wasm, device, signaling, cameraId: fixture.camera_id, codeText: fixture.pairing.code, nowSecs: fixture.pairing.now }),
    (e) => e instanceof PairingError && e.reason === 'wrong_camera',
  );
});

test('refusals, typos and expired codes are PairingErrors with a reason', async () => {
  const device = wasm.ViewerDevice.generate('test phone');
  const refusing = fakeSignaling(answerWith(Uint8Array.from([0x02, ...Buffer.from('The code expired; print a new one.')])));
  await assert.rejects(
    pairCamera({ wasm, device, signaling: refusing, cameraId: fixture.camera_id, codeText: fixture.pairing.code, nowSecs: fixture.pairing.now }),
    (e) => e.reason === 'expired' && e.message === 'The code expired; print a new one.',
  );
  const silent = fakeSignaling(() => null);
  await assert.rejects(
    pairCamera({ wasm, device, signaling: silent, cameraId: fixture.camera_id, codeText: 'NOT-A-CODE', nowSecs: fixture.pairing.now }),
    (e) => e.reason === 'bad_code',
  );
  await assert.rejects(
    pairCamera({ wasm, device, signaling: silent, cameraId: fixture.camera_id, codeText: fixture.pairing.code, nowSecs: fixture.pairing.expires_at }),
    (e) => e.reason === 'expired',
  );
  assert.equal(silent.sent.length, 0, 'nothing is sent for a bad or expired code');
});

test('page-side readers agree with the WASM module', async () => {
  const device = wasm.ViewerDevice.generate("Anna's phone");
  const parsed = parseViewerPublic(device.publicKeys());
  assert.equal(parsed.name, "Anna's phone");
  assert.equal(await deviceIdOf(parsed), device.deviceId);
  assert.deepEqual(await describeDevice(parsed), { deviceId: device.deviceId, fingerprint: device.fingerprint() });
  const camera = { id: '', keys: cameraPublic.subarray(3 + cameraPublic[2]) };
  camera.id = Buffer.from(cameraPublic.subarray(3, 3 + cameraPublic[2])).toString();
  assert.equal(
    await fingerprintOf(ROLE_CAMERA, camera.id, camera.keys.subarray(0, 32), camera.keys.subarray(32, 64)),
    fixture.camera_fingerprint,
  );
  assert.equal(cameraIdOf(cameraPublic), wasm.cameraId(cameraPublic));
  for (const e of fixture.envelopes) {
    const header = peekEnvelope(fromHex(e.envelope_hex));
    assert.equal(header.generation, e.generation);
    assert.equal(header.expiresAt, e.expires_at);
    assert.equal(header.cameraId, fixture.camera_id);
  }
});
