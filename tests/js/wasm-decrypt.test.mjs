// wasm-decrypt as the browser loads it: size and import limits, the byte-exact per-codec
// vectors shared with the native tests, counters, device export/import and pairing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { loadDecryptor, readVector, fromHex, wasmPath } from './wasm-loader.mjs';

const FRAME_VECTORS = [
  'vp8_key.json', 'vp8_delta.json', 'h264_idr.json', 'h264_p.json',
  'h264_multislice.json', 'opus.json',
];
const wasm = await loadDecryptor();
const fixture = readVector('wasm_fixture.json');
const cameraPublic = fromHex(fixture.camera_public_hex);

function deviceFromFixture() {
  return wasm.ViewerDevice.fromBytes(fromHex(fixture.viewer_device_hex));
}

function keyedDecryptor() {
  const device = deviceFromFixture();
  const decryptor = new wasm.Decryptor(cameraPublic);
  for (const { envelope_hex: envelope } of fixture.envelopes) {
    decryptor.acceptEnvelope(device, fromHex(envelope), fixture.now);
  }
  return decryptor;
}

test('release module is at most 300 KB and imports nothing from "env"', () => {
  const size = statSync(wasmPath).size;
  assert.ok(size <= 300 * 1024, `wasm_decrypt_bg.wasm is ${size} bytes`);
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  const fromEnv = WebAssembly.Module.imports(module).filter((i) => i.module === 'env');
  assert.deepEqual(fromEnv, []);
});

test('every committed codec vector decrypts to its exact plaintext', () => {
  // The vectors are independent and may share a KID and counter: one receiver each.
  for (const name of FRAME_VECTORS) {
    const decryptor = keyedDecryptor();
    const vector = readVector(name);
    const plain = decryptor.decrypt(vector.codec, fromHex(vector.protected_hex));
    assert.ok(plain, `${name} did not decrypt: ${decryptor.lastError}`);
    assert.equal(Buffer.from(plain).toString('hex'), vector.plaintext_hex, name);
    assert.deepEqual([decryptor.decrypted, decryptor.failed, decryptor.duplicates], [1, 0, 0]);
  }
});

test('a repeated frame is a silent duplicate, a flipped bit a failure', () => {
  const decryptor = keyedDecryptor();
  const vector = readVector('vp8_delta.json');
  const frame = fromHex(vector.protected_hex);
  assert.ok(decryptor.decrypt('vp8', frame));
  assert.equal(decryptor.decrypt('vp8', frame), undefined);
  assert.equal(decryptor.duplicates, 1);

  const tampered = fromHex(readVector('opus.json').protected_hex);
  tampered[tampered.length - 1] ^= 0x01;
  assert.equal(decryptor.decrypt('opus', tampered), undefined);
  assert.equal(decryptor.failed, 1);
  assert.match(decryptor.lastError, /authentic/i);
  assert.equal(decryptor.decrypted, 1);
});

test('without an envelope nothing decrypts and the key is reported missing', () => {
  const decryptor = new wasm.Decryptor(cameraPublic);
  assert.equal(decryptor.hasKey(), false);
  const vector = readVector('h264_idr.json');
  assert.equal(decryptor.decrypt('h264', fromHex(vector.protected_hex)), undefined);
  assert.equal(decryptor.unknownKey, 1);
  assert.equal(decryptor.decrypted, 0);
});

test('envelopes for another device or from another camera are refused', () => {
  const stranger = wasm.ViewerDevice.generate('stranger');
  const envelope = fromHex(fixture.envelopes[0].envelope_hex);
  assert.throws(() => new wasm.Decryptor(cameraPublic).acceptEnvelope(stranger, envelope, fixture.now));
  const otherCamera = new wasm.Decryptor(fromHex(fixture.other_camera_public_hex));
  assert.throws(() => otherCamera.acceptEnvelope(deviceFromFixture(), envelope, fixture.now));
  const late = fixture.envelopes[0].expires_at + 1;
  assert.throws(() => new wasm.Decryptor(cameraPublic).acceptEnvelope(deviceFromFixture(), envelope, late));
});

test('unknown codec names throw with a sentence', () => {
  assert.throws(() => keyedDecryptor().decrypt('mpeg2', new Uint8Array(10)), /codec/i);
});

test('a device survives export and import with the same id and fingerprint', () => {
  const device = wasm.ViewerDevice.generate("Anna's phone");
  const again = wasm.ViewerDevice.fromBytes(device.toBytes());
  assert.equal(again.deviceId, device.deviceId);
  assert.equal(again.name, "Anna's phone");
  assert.equal(again.fingerprint(), device.fingerprint());
  assert.match(device.fingerprint(), /^\d{5}( \d{5}){11}$/);
  assert.deepEqual(again.publicKeys(), device.publicKeys());
  assert.notEqual(wasm.ViewerDevice.generate('other').deviceId, device.deviceId);
  assert.throws(() => wasm.ViewerDevice.fromBytes(new Uint8Array([1, 2, 3])));
});

test('pairing pins the camera and builds an enrollment request', () => {
  const code = wasm.PairingCode.parse(fixture.pairing.code);
  assert.equal(code.expiresAt, fixture.pairing.expires_at);
  code.verifyCamera(cameraPublic);
  assert.throws(() => code.verifyCamera(fromHex(fixture.other_camera_public_hex)));
  const device = wasm.ViewerDevice.generate('new phone');
  const request = code.createEnrollment(device, fixture.pairing.now);
  assert.ok(request.length > device.publicKeys().length);
  assert.throws(() => wasm.PairingCode.parse('not a pairing code'));
  assert.equal(wasm.cameraFingerprint(cameraPublic), fixture.camera_fingerprint);
  assert.equal(wasm.cameraId(cameraPublic), fixture.camera_id);
});

test('an owner device signs revoke and approve commands; bad roles throw', () => {
  const owner = deviceFromFixture();
  const other = wasm.ViewerDevice.generate('kitchen tablet');
  const revoke = owner.signRevoke(fixture.camera_id, other.deviceId, 3, fixture.now);
  const approve = owner.signApprove(fixture.camera_id, other.publicKeys(), 'viewer', 3, fixture.now);
  // Kind byte 0x08 (owner command), format version 1, then the camera id as str8.
  for (const command of [revoke, approve]) {
    assert.deepEqual([...command.slice(0, 3)], [0x08, 0x01, fixture.camera_id.length]);
    assert.equal(Buffer.from(command.slice(3, 3 + fixture.camera_id.length)).toString(), fixture.camera_id);
  }
  assert.ok(Buffer.from(revoke).includes(Buffer.from(other.deviceId)));
  assert.ok(Buffer.from(approve).includes(Buffer.from(other.publicKeys())));
  assert.notDeepEqual(owner.signRevoke(fixture.camera_id, other.deviceId, 4, fixture.now), revoke);
  assert.throws(() => owner.signApprove(fixture.camera_id, other.publicKeys(), 'admin', 3, fixture.now), /role/);
  assert.throws(() => owner.signApprove(fixture.camera_id, new Uint8Array(5), 'viewer', 3, fixture.now));
});
