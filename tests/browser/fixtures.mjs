// Key material for the page tests, built the way e2ee encodes it (e2ee/src/identity):
// real Ed25519 / X25519 public keys from node's crypto, framed as CameraPublic bytes.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';

function rawPublic(type) {
  const { publicKey } = generateKeyPairSync(type);
  return Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
}

/** `CameraPublic`: 0x02 | 0x01 | str8 camera_id | [32] ed25519 pk | [32] x25519 pk. */
export function cameraPublicBytes(cameraId) {
  const id = Buffer.from(cameraId, 'utf8');
  return Buffer.concat([Buffer.from([0x02, 0x01, id.length]), id, rawPublic('ed25519'), rawPublic('x25519')]);
}

/** `ViewerPublic`: 0x04 | 0x01 | str8 name | [32] ed25519 pk | [32] x25519 pk. */
export function viewerPublicBytes(name) {
  const label = Buffer.from(name, 'utf8');
  return Buffer.concat([Buffer.from([0x04, 0x01, label.length]), label, rawPublic('ed25519'), rawPublic('x25519')]);
}

/** `Membership` (e2ee/src/membership): members as [ViewerPublic bytes, role byte] pairs. */
export function membershipBytes(cameraId, version, members) {
  const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
  const id = Buffer.from(cameraId, 'utf8');
  const parts = [Buffer.from([0x09, 0x01, id.length]), id, u64(version), Buffer.from([0, 0, 0, members.length])];
  for (const [device, role] of members) {
    parts.push(Buffer.from([device.length >> 8, device.length & 0xff]), device, Buffer.from([role]), u64(1_767_225_600));
  }
  return Buffer.concat(parts);
}

const FIXTURE = new URL('../../e2ee/tests/vectors/wasm_fixture.json', import.meta.url);

/** The shared WASM fixture (a device, a camera, envelopes, a pairing code), if present. */
export function wasmFixture() {
  return existsSync(FIXTURE) ? JSON.parse(readFileSync(FIXTURE, 'utf8')) : null;
}

/** Puts records straight into the viewer's IndexedDB (after the app created it). */
export async function seedStore(page, { deviceHex = null, cameras = [] }) {
  await page.evaluate(async ({ deviceHex: hex, cameras: list }) => {
    const fromHex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
    const db = await new Promise((resolve, reject) => {
      const request = indexedDB.open('sealcam', 1);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const tx = db.transaction(['device', 'cameras'], 'readwrite');
    if (hex) tx.objectStore('device').put({ bytes: fromHex(hex), createdAt: Date.now() }, 'self');
    for (const c of list) {
      tx.objectStore('cameras').put({ cameraId: c.cameraId, cameraPublic: fromHex(c.publicHex), role: c.role, pairedAt: Date.now() });
    }
    await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
    db.close();
  }, { deviceHex, cameras });
}
