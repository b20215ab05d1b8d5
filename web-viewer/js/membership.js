// The camera's membership list as an owner device reads it from `owner_result`
// (layout: e2ee/src/membership/mod.rs). Parsing is pure; device ids are recomputed from the
// public keys exactly as e2ee does, so the list cannot name a device other than its keys.
import { Reader, Kind, WireError, parseViewerPublic } from './wire.js';
import { fingerprintOf, ROLE_VIEWER } from './fingerprint.js';

const ROLES = Object.freeze({ 1: 'owner', 2: 'viewer' });
const DEVICE_ID_LABEL = new TextEncoder().encode('sealcam/v1 device-id');
/** Bytes of each member record besides the device's public keys. */
const MIN_MEMBER_BYTES = 2 + 1 + 8;

/**
 * @param {Uint8Array} bytes `Membership::to_bytes()`
 * @returns {{cameraId: string, version: number, members: Array<{device: object, role: string, addedAt: number}>}}
 */
export function parseMembership(bytes) {
  const reader = new Reader(bytes, Kind.Membership, 'membership list');
  const cameraId = reader.str8();
  const version = reader.u64();
  const count = reader.u32();
  // The count is input: never allocate from it, and refuse counts the bytes cannot hold.
  if (count * MIN_MEMBER_BYTES > bytes.length - reader.pos) {
    throw new WireError('membership list: member count exceeds the data');
  }
  const members = [];
  for (let i = 0; i < count; i += 1) {
    const device = parseViewerPublic(reader.bytes16());
    const role = ROLES[reader.u8()];
    if (!role) throw new WireError('membership list: unknown role');
    members.push({ device, role, addedAt: reader.u64() });
  }
  reader.finish();
  return { cameraId, version, members };
}

/** The device id e2ee derives: hex of SHA-256(label || ed25519 || x25519)[..8]. */
export async function deviceIdOf(device, subtle = globalThis.crypto.subtle) {
  const input = new Uint8Array(DEVICE_ID_LABEL.length + 64);
  input.set(DEVICE_ID_LABEL, 0);
  input.set(device.ed25519, DEVICE_ID_LABEL.length);
  input.set(device.x25519, DEVICE_ID_LABEL.length + 32);
  const digest = new Uint8Array(await subtle.digest('SHA-256', input));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A device's id and safety number from its public keys alone. */
export async function describeDevice(device, subtle) {
  const deviceId = await deviceIdOf(device, subtle);
  const fingerprint = await fingerprintOf(ROLE_VIEWER, deviceId, device.ed25519, device.x25519, subtle);
  return { deviceId, fingerprint };
}

/** The list with each member's device id and fingerprint filled in, owners first, then by name. */
export async function withDeviceIds(membership, subtle) {
  const members = await Promise.all(
    membership.members.map(async (m) => ({ ...m, ...(await describeDevice(m.device, subtle)) })),
  );
  members.sort((a, b) => (a.role === b.role ? a.device.name.localeCompare(b.device.name) : a.role === 'owner' ? -1 : 1));
  return { ...membership, members };
}
