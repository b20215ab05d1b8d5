// Pairing with a camera (DESIGN.md, "Pairing"): the code the camera printed → MACed
// enrollment in `pair_request` → `pair_response` with the camera's public keys → checked
// against the code's fingerprint commitment before anything is pinned. A server that
// substitutes its own key fails that check and nothing is stored.
import * as protocol from './protocol.js';
import { toBase64, fromBase64, decodePairResponse } from './payloads.js';

const ANSWER_TIMEOUT_MS = 20_000;
const PAIR_ERRORS = new Set(['camera_offline', 'forbidden', 'rate_limited', 'payload_too_large']);

export class PairingError extends Error {
  /** @param {string} reason bad_code | expired | rate_limited | wrong_camera | unreachable | other */
  constructor(reason, message) {
    super(message);
    this.name = 'PairingError';
    this.reason = reason;
  }
}

/**
 * @returns {Promise<{cameraId: string, cameraPublic: Uint8Array, role: string, fingerprint: string}>}
 */
export async function pairCamera({ wasm, device, signaling, cameraId, codeText, nowSecs = Date.now() / 1000 }) {
  let code;
  try {
    code = wasm.PairingCode.parse(codeText);
  } catch (error) {
    throw new PairingError('bad_code', `That pairing code is not valid (${error.message}); check for typing mistakes.`);
  }
  try {
    if (code.expiresAt <= nowSecs) {
      throw new PairingError('expired', 'This pairing code has expired; have the camera print a new one.');
    }
    const enrollment = code.createEnrollment(device, nowSecs);
    const reply = signaling.waitFor((m) => {
      if (m.type === 'pair_response' && m.camera_id === cameraId) return 'accept';
      if (m.type === 'error' && PAIR_ERRORS.has(m.code)) return 'reject';
      return null;
    }, ANSWER_TIMEOUT_MS);
    if (!signaling.send(protocol.pairRequest(cameraId, toBase64(enrollment)))) {
      reply.catch(() => {});
      throw new PairingError('unreachable', 'Not connected to the server; sign in first.');
    }
    let message;
    try {
      message = await reply;
    } catch (error) {
      throw new PairingError('unreachable', error.message);
    }
    const answer = decodePairResponse(fromBase64(message.payload));
    if (!answer.ok) throw new PairingError(answer.reason, answer.message);
    try {
      code.verifyCamera(answer.cameraPublic);
    } catch {
      throw new PairingError('wrong_camera', 'The camera key that came back does not match this pairing code. Nothing was saved: someone may be interfering with the connection.');
    }
    if (wasm.cameraId(answer.cameraPublic) !== cameraId) {
      throw new PairingError('wrong_camera', `The code belongs to camera "${wasm.cameraId(answer.cameraPublic)}", not "${cameraId}"; pick that camera and try again.`);
    }
    return {
      cameraId,
      cameraPublic: answer.cameraPublic,
      role: answer.role,
      fingerprint: wasm.cameraFingerprint(answer.cameraPublic),
    };
  } finally {
    code.free?.();
  }
}
