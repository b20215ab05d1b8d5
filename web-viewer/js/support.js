// Which insertable-streams API this browser offers (DESIGN.md, "WebRTC stacks"):
// RTCRtpScriptTransform (Firefox, Safari, current Chromium) runs the transform in a worker
// the browser feeds; createEncodedStreams (Chromium) hands the page streams that it pipes
// through its own worker. Without either, decrypting in the page is impossible.

export const TRANSFORM_APIS = Object.freeze(['script-transform', 'encoded-streams']);

/** Browsers known to work, shown on the "not supported" page. */
export const WORKING_BROWSERS = Object.freeze([
  'Chrome, Edge, Brave or Opera (current versions)',
  'Firefox 117 or later',
  'Safari 15.4 or later (macOS, iPhone and iPad)',
]);

/**
 * @param {object} scope the global object (window), injectable for tests
 * @param {string|null} forced a TRANSFORM_APIS name to use if available (diagnostics, tests)
 * @returns {{api: string|null, missing: string[]}} the API to use (null: none) and what lacks
 */
export function detectTransformApi(scope, forced = null) {
  const available = [];
  const missing = [];
  if (!scope.isSecureContext) missing.push('secure-context');
  if (typeof scope.RTCPeerConnection !== 'function') missing.push('webrtc');
  if (typeof scope.Worker !== 'function') missing.push('workers');
  if (typeof scope.WebAssembly !== 'object' || scope.WebAssembly === null) missing.push('webassembly');
  if (typeof scope.indexedDB !== 'object' || scope.indexedDB === null) missing.push('indexeddb');
  if (typeof scope.RTCRtpScriptTransform === 'function') available.push('script-transform');
  const receiver = scope.RTCRtpReceiver?.prototype;
  if (receiver && typeof receiver.createEncodedStreams === 'function') available.push('encoded-streams');
  if (available.length === 0) missing.push('insertable-streams');
  if (missing.length > 0) return { api: null, missing };
  const api = forced && available.includes(forced) ? forced : available[0];
  return { api, missing };
}

/** One sentence per missing capability, for the "not supported" page. */
export const MISSING_TEXT = Object.freeze({
  'secure-context': 'This page must be opened over HTTPS (or on localhost): browsers only allow end-to-end encryption features in secure pages.',
  webrtc: 'This browser has no WebRTC.',
  workers: 'This browser cannot run Web Workers.',
  webassembly: 'This browser cannot run WebAssembly, which decrypts the video.',
  indexeddb: 'This browser cannot store this device’s keys (IndexedDB is unavailable, for example in a private window).',
  'insertable-streams': 'This browser cannot hand encrypted video frames to the page for decryption (no RTCRtpScriptTransform and no createEncodedStreams).',
});
