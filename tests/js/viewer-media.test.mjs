// Pure media helpers: the testsrc pixel strip, rate meter, codec names, browser support
// detection and the URL fragment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readStrip, latencyMs, CELL, MAGIC, STRIP_BITS } from '../../web-viewer/js/pixel-strip.js';
import { RateMeter, inboundVideo } from '../../web-viewer/js/rate-meter.js';
import { codecFromMimeType, preferredReceiveCodecs } from '../../web-viewer/js/codec.js';
import { detectTransformApi, MISSING_TEXT } from '../../web-viewer/js/support.js';
import { parseFragment, scrubToken, looksLikeToken } from '../../web-viewer/js/fragment.js';
import { onFirstFrame } from '../../web-viewer/js/first-frame.js';

/** An RGBA picture with the strip drawn the way testsrc draws it (after YUV→RGB). */
function stripPicture(width, height, frame, capturedUs, { one = 255, zero = 0 } = {}) {
  const rgba = new Uint8ClampedArray(width * height * 4).fill(zero);
  const bits = (BigInt(MAGIC) << 96n) | (BigInt(frame) << 64n) | BigInt(capturedUs);
  const perRow = Math.floor(width / CELL);
  for (let i = 0; i < STRIP_BITS; i += 1) {
    if (((bits >> BigInt(STRIP_BITS - 1 - i)) & 1n) === 0n) continue;
    const [row, col] = [Math.floor(i / perRow), i % perRow];
    for (let y = row * CELL; y < (row + 1) * CELL; y += 1) {
      for (let x = col * CELL; x < (col + 1) * CELL; x += 1) {
        rgba.fill(one, (y * width + x) * 4, (y * width + x) * 4 + 3);
      }
    }
  }
  return rgba;
}

test('the strip reads back frame counter and capture time at several sizes', () => {
  for (const [w, h] of [[640, 480], [1280, 720], [320, 240], [160, 120]]) {
    const rgba = stripPicture(w, h, 123_456, 1_764_500_000_123_456);
    assert.deepEqual(readStrip(rgba, w, h), { frame: 123_456, capturedUs: 1_764_500_000_123_456 }, `${w}x${h}`);
  }
  // Decoded pixels are never exactly 0/255: limited-range greys near the threshold still read.
  const soft = stripPicture(640, 480, 0xffff_ffff, 1, { one: 200, zero: 40 });
  assert.deepEqual(readStrip(soft, 640, 480), { frame: 0xffff_ffff, capturedUs: 1 });
});

test('no strip (garbage, wrong magic, too small) reads as null', () => {
  assert.equal(readStrip(new Uint8ClampedArray(640 * 480 * 4), 640, 480), null);
  assert.equal(readStrip(new Uint8ClampedArray(640 * 480 * 4).fill(255), 640, 480), null);
  assert.equal(readStrip(new Uint8ClampedArray(4 * 4 * 4), 4, 4), null);
  assert.equal(readStrip(new Uint8ClampedArray(10), 640, 480), null);
});

test('latency is shown only when the clocks make sense', () => {
  assert.equal(latencyMs({ frame: 1, capturedUs: 1_000_000_000 }, 1_000_150), 150);
  assert.equal(latencyMs({ frame: 1, capturedUs: 2_000_000_000 }, 1_000_000), null);
  assert.equal(latencyMs(null, 5), null);
});

test('rate meter: fps and kbps over the interval; counter resets ignored', () => {
  const meter = new RateMeter();
  assert.deepEqual(meter.sample({ timestamp: 1000, framesDecoded: 10, bytesReceived: 1000 }), { fps: null, kbps: null });
  assert.deepEqual(meter.sample({ timestamp: 2000, framesDecoded: 40, bytesReceived: 126_000 }), { fps: 30, kbps: 1000 });
  assert.deepEqual(meter.sample({ timestamp: 2500, framesDecoded: 0, bytesReceived: 0 }), { fps: 30, kbps: 1000 });
  assert.deepEqual(meter.sample({ timestamp: 3000, framesDecoded: 15, bytesReceived: 62_500 }), { fps: 30, kbps: 1000 });
  const report = new Map([['a', { type: 'codec' }], ['b', { type: 'inbound-rtp', kind: 'audio' }], ['c', { type: 'inbound-rtp', kind: 'video', framesDecoded: 3 }]]);
  assert.equal(inboundVideo(report).framesDecoded, 3);
  assert.equal(inboundVideo(new Map()), null);
});

test('codec names from mime types; receive codecs ordered H.264 pm1 first', () => {
  assert.equal(codecFromMimeType('video/H264'), 'h264');
  assert.equal(codecFromMimeType('video/VP8'), 'vp8');
  assert.equal(codecFromMimeType('audio/opus'), 'opus');
  assert.equal(codecFromMimeType('video/AV1'), null);
  assert.equal(codecFromMimeType(undefined), null);
  const codecs = [
    { mimeType: 'video/VP9' }, { mimeType: 'video/VP8' }, { mimeType: 'video/rtx' },
    { mimeType: 'video/H264', sdpFmtpLine: 'packetization-mode=0;profile-level-id=42e01f' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f' },
    { mimeType: 'video/H264', sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
    { mimeType: 'video/AV1' },
  ];
  const ordered = preferredReceiveCodecs({ codecs }).map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim());
  assert.deepEqual(ordered, [
    'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'video/H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f',
    'video/H264 packetization-mode=0;profile-level-id=42e01f',
    'video/VP8',
    'video/rtx',
  ]);
});

function fakeScope({ script = true, encoded = true, secure = true } = {}) {
  function Receiver() {}
  if (encoded) Receiver.prototype.createEncodedStreams = function createEncodedStreams() {};
  return {
    isSecureContext: secure,
    RTCPeerConnection: function RTCPeerConnection() {},
    RTCRtpReceiver: Receiver,
    RTCRtpScriptTransform: script ? function RTCRtpScriptTransform() {} : undefined,
    Worker: function Worker() {},
    WebAssembly: {},
    indexedDB: {},
  };
}

test('transform API detection prefers RTCRtpScriptTransform and honours a forced choice', () => {
  assert.deepEqual(detectTransformApi(fakeScope()), { api: 'script-transform', missing: [] });
  assert.equal(detectTransformApi(fakeScope(), 'encoded-streams').api, 'encoded-streams');
  assert.equal(detectTransformApi(fakeScope({ encoded: false }), 'encoded-streams').api, 'script-transform');
  assert.equal(detectTransformApi(fakeScope({ script: false })).api, 'encoded-streams');
  const none = detectTransformApi(fakeScope({ script: false, encoded: false }));
  assert.deepEqual(none, { api: null, missing: ['insertable-streams'] });
  const insecure = detectTransformApi(fakeScope({ secure: false }));
  assert.deepEqual(insecure, { api: null, missing: ['secure-context'] });
  const bare = detectTransformApi({});
  assert.equal(bare.api, null);
  for (const reason of bare.missing) assert.ok(MISSING_TEXT[reason], reason);
});

test('token from the fragment, scrubbed afterwards; the query string is never read', () => {
  assert.deepEqual(parseFragment('#token=aaa.bbb.ccc&transform=encoded-streams'), { token: 'aaa.bbb.ccc', transform: 'encoded-streams' });
  assert.deepEqual(parseFragment(''), { token: null, transform: null });
  assert.deepEqual(parseFragment('#token=%20'), { token: null, transform: null });
  assert.equal(scrubToken('#token=aaa.bbb.ccc&transform=encoded-streams'), '#transform=encoded-streams');
  assert.equal(scrubToken('#token=aaa.bbb.ccc'), '');
  assert.equal(looksLikeToken(' eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl '), true);
  assert.equal(looksLikeToken('not a token'), false);
});

/** A video element's frame-callback and event surface, driven by hand. */
class FakeVideo extends EventTarget {
  constructor({ frameCallbacks }) {
    super();
    this.pending = new Map();
    this.next = 1;
    if (frameCallbacks) {
      this.requestVideoFrameCallback = (fn) => { this.pending.set(this.next, fn); return this.next++; };
      this.cancelVideoFrameCallback = (handle) => this.pending.delete(handle);
    }
  }

  present() {
    const due = [...this.pending.values()];
    this.pending.clear();
    for (const fn of due) fn(0, {});
    this.dispatchEvent(new Event('loadeddata'));
  }
}

test('the first picture is reported once, by frame callback or by loadeddata', () => {
  for (const frameCallbacks of [true, false]) {
    const video = new FakeVideo({ frameCallbacks });
    let pictures = 0;
    onFirstFrame(video, () => { pictures += 1; });
    assert.equal(pictures, 0, 'nothing before a frame is presented');
    video.present();
    video.present();
    assert.equal(pictures, 1, `frameCallbacks=${frameCallbacks}`);
  }
});

test('a cancelled wait for the first picture never reports', () => {
  for (const frameCallbacks of [true, false]) {
    const video = new FakeVideo({ frameCallbacks });
    let pictures = 0;
    const cancel = onFirstFrame(video, () => { pictures += 1; });
    cancel();
    video.present();
    assert.equal(pictures, 0, `frameCallbacks=${frameCallbacks}`);
  }
});
