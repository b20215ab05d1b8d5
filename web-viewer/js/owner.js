// Owner tools: read a camera's member list and revoke a device, via `owner_command` /
// `owner_result` (docs/e2ee-messages.md). The camera verifies every signature; the server
// only relays.
import * as protocol from './protocol.js';
import { toBase64, fromBase64, decodeOwnerResult, LIST_MEMBERS } from './payloads.js';
import { parseMembership, withDeviceIds } from './membership.js';

const ANSWER_TIMEOUT_MS = 15_000;

async function command(signaling, cameraId, payloadBytes) {
  const reply = signaling.waitFor((m) => {
    if (m.type === 'owner_result' && m.camera_id === cameraId) return 'accept';
    if (m.type === 'error' && ['camera_offline', 'forbidden', 'rate_limited'].includes(m.code)) return 'reject';
    return null;
  }, ANSWER_TIMEOUT_MS);
  if (!signaling.send(protocol.ownerCommand(cameraId, toBase64(payloadBytes)))) {
    reply.catch(() => {});
    throw new Error('Not connected to the server.');
  }
  const result = decodeOwnerResult(fromBase64((await reply).payload));
  if (!result.ok) throw new Error(result.message);
  return withDeviceIds(parseMembership(result.membership));
}

/** The camera's current member list (owners first), each member with its device id. */
export function listMembers(signaling, cameraId) {
  return command(signaling, cameraId, LIST_MEMBERS);
}

/** Whether this WASM build can sign owner commands (ViewerDevice.signRevoke / signApprove). */
export function canSignCommands(device) {
  return typeof device?.signRevoke === 'function' && typeof device?.signApprove === 'function';
}

const NO_SIGNING = 'This viewer build cannot sign owner commands yet; do it on the camera (`camera-agent viewers`, `camera-agent pair`).';

/**
 * Revokes `deviceId`; `version` is the membership version the list was read at, so a
 * command made from a stale list is refused by the camera instead of doing the wrong thing.
 */
export function revokeMember({ signaling, device, cameraId, deviceId, version, nowSecs = Date.now() / 1000 }) {
  if (!canSignCommands(device)) return Promise.reject(new Error(NO_SIGNING));
  const signed = device.signRevoke(cameraId, deviceId, version, Math.floor(nowSecs));
  return command(signaling, cameraId, signed);
}

/**
 * Admits the device whose public keys are `devicePublic` (from its device code) with `role`
 * ('viewer' or 'owner'). The person must have compared its fingerprint first.
 */
export function approveMember({ signaling, device, cameraId, devicePublic, role, version, nowSecs = Date.now() / 1000 }) {
  if (!canSignCommands(device)) return Promise.reject(new Error(NO_SIGNING));
  const signed = device.signApprove(cameraId, devicePublic, role, version, Math.floor(nowSecs));
  return command(signaling, cameraId, signed);
}
