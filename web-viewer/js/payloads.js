// Camera ↔ viewer payloads inside signaling's opaque relays (docs/e2ee-messages.md):
// base64 transport, and the status-byte framing of `pair_response` and `owner_result`.
import { WireError } from './wire.js';

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, as every relay payload is written. */
export function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Strict decoding: anything that is not canonical padded base64 is an error. */
export function fromBase64(text) {
  if (typeof text !== 'string' || !B64.test(text)) {
    throw new WireError('relay payload is not base64');
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

/** `owner_command` payload that asks for the membership list: the byte 'L'. */
export const LIST_MEMBERS = Uint8Array.of(0x4c);

const PAIR_REFUSALS = Object.freeze({
  1: 'bad_code',
  2: 'expired',
  3: 'rate_limited',
});

const ROLE_BYTES = Object.freeze({ 1: 'owner', 2: 'viewer' });
const utf8 = new TextDecoder('utf-8', { fatal: false });

function refusal(bytes, reasons) {
  const status = bytes[0];
  const message = utf8.decode(bytes.subarray(1)).trim() || 'The camera refused without a reason.';
  return { ok: false, status, reason: reasons[status] ?? 'other', message };
}

/**
 * `pair_response`: `0x00 ‖ CameraPublic ‖ role` on success, `status ‖ sentence` on refusal.
 * The caller must still check the camera key against the pairing code before pinning it.
 */
export function decodePairResponse(bytes) {
  if (bytes.length === 0) throw new WireError('pair response is empty');
  if (bytes[0] !== 0x00) return refusal(bytes, PAIR_REFUSALS);
  if (bytes.length < 3) throw new WireError('pair response is truncated');
  const role = ROLE_BYTES[bytes[bytes.length - 1]];
  if (!role) throw new WireError('pair response names an unknown role');
  return { ok: true, cameraPublic: bytes.slice(1, -1), role };
}

/** `owner_result`: `0x00 ‖ Membership` on success, `status ‖ sentence` on refusal. */
export function decodeOwnerResult(bytes) {
  if (bytes.length === 0) throw new WireError('owner result is empty');
  if (bytes[0] !== 0x00) return refusal(bytes, {});
  return { ok: true, membership: bytes.slice(1) };
}

/** Prefix of a device code: what a new device shows so an owner can approve it remotely. */
export const DEVICE_CODE_PREFIX = 'sealcam-device:';

/** The text a device shows for approval: its public keys (nothing secret), base64. */
export function deviceCode(publicKeys) {
  return DEVICE_CODE_PREFIX + toBase64(publicKeys);
}

/** The public-key bytes inside a pasted device code (whitespace and line breaks ignored). */
export function parseDeviceCode(text) {
  const compact = String(text ?? '').replace(/\s+/g, '');
  if (!compact.toLowerCase().startsWith(DEVICE_CODE_PREFIX)) {
    throw new WireError(`a device code starts with "${DEVICE_CODE_PREFIX}"`);
  }
  return fromBase64(compact.slice(DEVICE_CODE_PREFIX.length));
}
