// The browser tests' stand-in camera (tests/browser/sframe-sender.mjs) must produce exactly
// the committed protected frames, or a loopback test could pass against the wrong format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SFrameSender, sframeHeader, normalizeH264, escapeEmulation } from '../browser/sframe-sender.mjs';

const vector = (name) => JSON.parse(readFileSync(new URL(`../../e2ee/tests/vectors/${name}.json`, import.meta.url), 'utf8'));

test('the test sender reproduces every codec vector byte for byte', async () => {
  for (const name of ['vp8_key', 'vp8_delta', 'opus', 'h264_idr', 'h264_p', 'h264_multislice']) {
    const v = vector(name);
    const sender = await SFrameSender.create(Buffer.from(v.key_hex, 'hex'), v.kid);
    const out = await sender.protect(v.codec, v.ctr, Buffer.from(v.frame_hex, 'hex'));
    assert.equal(Buffer.from(out).toString('hex'), v.protected_hex, name);
  }
});

test('SFrame headers follow RFC 9605 §4.3', () => {
  assert.deepEqual([...sframeHeader(0, 0)], [0x00]);
  assert.deepEqual([...sframeHeader(7, 7)], [0x77]);
  assert.deepEqual([...sframeHeader(42, 1)], [0x81, 42]);
  assert.deepEqual([...sframeHeader(1, 70_000)], [0x1a, 0x01, 0x11, 0x70]);
  assert.deepEqual([...sframeHeader(300, 8)], [0x98, 0x01, 0x2c, 0x08]);
});

test('H.264 normalization and emulation prevention match e2ee', () => {
  const frame = Uint8Array.of(
    0, 0, 1, 0x09, 0xf0, // AUD, 3-byte start code
    0, 0, 0, 1, 0x67, 0x42, 0, // SPS ending in a trailing zero
    0, 0, 1, 0x68, 0xce, // PPS
    0, 0, 1, 0x0c, 0xff, 0xff, // filler
    0, 0, 0, 0, 1, 0x65, 0x88, 0x84, // IDR after extra zeros
  );
  assert.deepEqual([...normalizeH264(frame)], [0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 0x88, 0x84]);
  assert.deepEqual([...escapeEmulation(Uint8Array.of(0, 0, 1, 0, 0, 4, 0, 0), 0)], [0, 0, 3, 1, 0, 0, 4, 0, 0, 3]);
  assert.deepEqual([...escapeEmulation(Uint8Array.of(0, 2), 1)], [0, 3, 2]);
});
