// Real WebRTC in Chromium, one page, two peer connections: H.264 or VP8 from a canvas, protected by
// the stand-in camera (tests/browser/sframe-sender.mjs, checked against the repository's
// vectors), received through the viewer's own transform worker and WASM — once with each
// transform API. A viewer holding the key sees the exact colour regions with zero decrypt
// failures; one without the key decodes nothing and shows no picture.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, started, screenshot } from './harness.mjs';
import { wasmFixture } from './fixtures.mjs';

const VP8_KEY = JSON.parse(readFileSync(new URL('../../e2ee/tests/vectors/vp8_key.json', import.meta.url), 'utf8')).key_hex;
const EXPECTED = { red: [255, 0, 0], green: [0, 200, 0], blue: [0, 0, 255] };
/** VP8 at this size keeps flat regions within a few levels; 40 leaves room for YUV rounding. */
const TOLERANCE = 40;
const fixture = wasmFixture();
let server;

before(async () => {
  server = await startServer({ testFiles: true });
});

after(async () => {
  await server.close();
});

async function loopback(api, codec, withKey) {
  assert.ok(fixture, 'e2ee/tests/vectors/wasm_fixture.json is missing: cargo run -p e2ee --example gen_wasm_fixture fixture');
  const browser = await launchBrowser();
  try {
    const { page, logs } = browser;
    await page.goto(`${server.origin}/`);
    assert.equal(await started(page), 'ready', logs.join('\n'));
    const supported = await page.evaluate(() => ({
      'script-transform': typeof RTCRtpScriptTransform === 'function',
      'encoded-streams': typeof RTCRtpReceiver.prototype.createEncodedStreams === 'function',
    }));
    assert.ok(supported[api], `this Chromium lacks ${api}`);
    const result = await page.evaluate(async (options) => {
      const { runLoopback } = await import('/__test__/loopback.mjs');
      return runLoopback(options);
    }, { api, codec, fixture, keyHex: VP8_KEY, withKey, frames: 30, timeoutMs: withKey ? 20_000 : 4_000 });
    await screenshot(page, `viewer-loopback-${api}-${codec}-${withKey ? 'paired' : 'unpaired'}`);
    return result;
  } finally {
    await browser.close();
  }
}

function assertColours(pixels) {
  for (const [region, want] of Object.entries(EXPECTED)) {
    const got = pixels[region];
    const off = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
    assert.ok(off <= TOLERANCE, `${region}: got rgb(${got}) want rgb(${want})`);
  }
}

for (const api of ['script-transform', 'encoded-streams']) {
  for (const codec of ['h264', 'vp8']) {
    test(`paired (${api}, ${codec}): the picture decodes to the source colours, no decrypt failures`, async () => {
      const r = await loopback(api, codec, true);
      assert.equal(r.codec?.toLowerCase(), `video/${codec}`);
      assert.ok(r.framesDecoded >= 30, `framesDecoded ${r.framesDecoded}`);
      assertColours(r.pixels);
      assert.equal(r.counters.failed, 0, r.counters.lastError ?? '');
      assert.equal(r.counters.unknownKey, 0);
      assert.ok(r.counters.decrypted >= r.framesDecoded, `decrypted ${r.counters.decrypted} < decoded ${r.framesDecoded}`);
      // The testsrc strip survives the codec and decryption: counter and capture time read back.
      const { strip, sampledAtMs } = r.pixels;
      assert.ok(strip, 'the pixel strip reads back from the decoded picture');
      assert.ok(strip.frame > 0 && strip.frame <= r.framesSent, `strip frame ${strip.frame}`);
      const latency = sampledAtMs - strip.capturedUs / 1000;
      assert.ok(latency >= 0 && latency < 5000, `capture-to-screen ${latency} ms`);
    });

    // H.264 ciphertext can "decode" into garbage pictures, so this checks pixels and the
    // decoder's own count, not only the worker's counters.
    test(`unpaired (${api}, ${codec}): frames arrive but nothing decodes and there is no picture`, async () => {
      const r = await loopback(api, codec, false);
      assert.ok(r.framesSent > 10, `only ${r.framesSent} frames were sent`);
      assert.equal(r.framesDecoded, 0);
      assert.equal(r.videoWidth, 0);
      assert.equal(r.pixels, null, 'no pixels to sample');
      assert.equal(r.counters.decrypted, 0);
      assert.ok(r.counters.unknownKey > 0, 'the dropped frames were counted');
    });
  }
}
