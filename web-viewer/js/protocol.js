// The signaling wire protocol as the viewer speaks it (mirror of protocol/src; the fixture
// protocol/fixtures/messages.json is parsed by both sides' tests so they cannot drift).
// Builders return plain objects; `encode` turns them into the JSON text sent on the socket.

export const PROTOCOL_VERSION = 1;
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_PAYLOAD_BYTES = 16 * 1024;

/** Error codes after which the server closes the socket (protocol/src/error_code.rs). */
export const CLOSING_ERRORS = new Set([
  'unauthorized', 'token_expired', 'hello_required', 'version_unsupported', 'server_busy',
  'idle_timeout', 'session_replaced', 'shutting_down',
]);

/** Closing errors that a reconnect cannot fix: the person has to act (new token, update). */
export const FATAL_ERRORS = new Set([
  'unauthorized', 'token_expired', 'hello_required', 'version_unsupported', 'session_replaced',
]);

export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const hello = (token) => ({ type: 'hello', version: PROTOCOL_VERSION, token });
export const subscribe = (cameraId, sdp) => ({ type: 'subscribe', camera_id: cameraId, sdp });
export const unsubscribe = (cameraId) => ({ type: 'unsubscribe', camera_id: cameraId });
export const keyRequest = (cameraId, payload) => ({ type: 'key_request', camera_id: cameraId, payload });
export const pairRequest = (cameraId, payload) => ({ type: 'pair_request', camera_id: cameraId, payload });
export const ownerCommand = (cameraId, payload) => ({ type: 'owner_command', camera_id: cameraId, payload });
export const statsReport = (cameraId, { decrypted, duplicate, failed }) => ({
  type: 'stats_report', camera_id: cameraId, decrypted, duplicate, failed,
});
export const ping = () => ({ type: 'ping' });
export const pong = () => ({ type: 'pong' });

/** JSON text for the socket; refuses what the server would reject as too large. */
export function encode(message) {
  const text = JSON.stringify(message);
  if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) {
    throw new ProtocolError(`${message.type} message is larger than 64 KiB`);
  }
  return text;
}

const isString = (v) => typeof v === 'string';
const isBool = (v) => typeof v === 'boolean';
const isCount = (v) => Number.isSafeInteger(v) && v >= 0;
const isStringList = (v) => Array.isArray(v) && v.every(isString);

// Required fields and their checks for every server message the viewer understands.
const SERVER_SHAPES = Object.freeze({
  welcome: { version: isCount, role: isString, cameras: isStringList, session_id: isString },
  error: { code: isString, message: isString, close: isBool },
  publish_answer: { sdp: isString },
  subscribe_answer: { camera_id: isString, sdp: isString },
  camera_status: { camera_id: isString, online: isBool, publishing: isBool },
  key_request: { camera_id: isString, from: isString, payload: isString },
  key_envelope: { camera_id: isString, payload: isString },
  pair_request: { camera_id: isString, from: isString, payload: isString },
  pair_response: { camera_id: isString, payload: isString },
  owner_command: { camera_id: isString, from: isString, payload: isString },
  owner_result: { camera_id: isString, payload: isString },
  viewer_left: { session_id: isString },
  ping: {},
  pong: {},
});

export const SERVER_TYPES = Object.freeze(Object.keys(SERVER_SHAPES));

/**
 * Parses one server text message. Unknown extra fields are ignored (a newer server may add
 * optional ones); an unknown type or a missing/ill-typed field is a ProtocolError.
 */
export function parseServerMessage(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('server message is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError('server message is not a JSON object');
  }
  const shape = Object.hasOwn(SERVER_SHAPES, value.type) ? SERVER_SHAPES[value.type] : undefined;
  if (!shape) throw new ProtocolError(`unknown server message type ${JSON.stringify(value.type)}`);
  for (const [field, check] of Object.entries(shape)) {
    if (!check(value[field])) {
      throw new ProtocolError(`${value.type}.${field} is missing or has the wrong type`);
    }
  }
  return value;
}

/** Whether an `error` message ends the session for good (no automatic reconnect). */
export function isFatalError(message) {
  return message.type === 'error' && FATAL_ERRORS.has(message.code);
}
