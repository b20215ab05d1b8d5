// Safety numbers computed in the page, for keys the page only has as public bytes (members of
// a camera, a device an owner is about to approve). Same derivation as e2ee/src/fingerprint.rs:
//   hash   = SHA-512("sealcam/v1 fingerprint" || role u8 || str8(id) || ed25519 pk || x25519 pk)
//   groups = 12 × (big-endian 40-bit chunk of hash mod 100000), shown as "12345 67890 …"
// The node tests check it against the WASM module's own fingerprints.

const LABEL = new TextEncoder().encode('sealcam/v1 fingerprint');
export const ROLE_CAMERA = 1;
export const ROLE_VIEWER = 2;

/**
 * @param {number} role ROLE_CAMERA (id = camera id) or ROLE_VIEWER (id = device id)
 * @returns {Promise<string>} 12 groups of 5 digits separated by spaces
 */
export async function fingerprintOf(role, id, ed25519, x25519, subtle = globalThis.crypto.subtle) {
  const idBytes = new TextEncoder().encode(id);
  const input = new Uint8Array(LABEL.length + 2 + idBytes.length + 64);
  let at = 0;
  for (const part of [LABEL, [role, idBytes.length], idBytes, ed25519, x25519]) {
    input.set(part, at);
    at += part.length;
  }
  const hash = new Uint8Array(await subtle.digest('SHA-512', input));
  const groups = [];
  for (let i = 0; i < 12; i += 1) {
    let value = 0n;
    for (const byte of hash.subarray(5 * i, 5 * i + 5)) value = (value << 8n) | BigInt(byte);
    groups.push(String(value % 100000n).padStart(5, '0'));
  }
  return groups.join(' ');
}
