// The transform worker in Chromium with the real WASM module, fed the repository's
// byte-exact codec vectors through transferred streams (the createEncodedStreams path;
// RTCRtpScriptTransform feeds the same pipe). Every frame must come out as its exact
// plaintext, a tampered frame must never be enqueued, a frame with no key must be dropped,
// and the counters must reach the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, launchBrowser, started } from './harness.mjs';
import { wasmFixture } from './fixtures.mjs';

const vector = (name) => JSON.parse(readFileSync(new URL(`../../e2ee/tests/vectors/${name}.json`, import.meta.url), 'utf8'));
let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.close();
});

test('the worker decrypts every codec vector byte-exact and drops what fails', async () => {
  const fixture = wasmFixture();
  assert.ok(fixture, 'e2ee/tests/vectors/wasm_fixture.json is missing: cargo run -p e2ee --example gen_wasm_fixture fixture');
  // One decryptor per codec, each fed in counter order (as a camera sends them).
  const streams = {
    'cam-vp8': { codec: 'vp8', vectors: ['vp8_key', 'vp8_delta'].map(vector) },
    'cam-h264': { codec: 'h264', vectors: ['h264_idr', 'h264_p', 'h264_multislice'].map(vector) },
    'cam-opus': { codec: 'opus', vectors: ['opus'].map(vector) },
  };
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.clock.install({ time: fixture.now * 1000 });
    await page.goto(`${server.origin}/`);
    assert.equal(await started(page), 'ready');
    const result = await page.evaluate(async ({ fixture: fx, streams: input }) => {
      const fromHex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
      const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
      const { DecryptWorker } = await import('/js/decrypt-worker.js');
      const dw = new DecryptWorker('encoded-streams');
      const counters = {};
      dw.addEventListener('counters', (e) => { counters[e.detail.cameraId] = e.detail; });
      await dw.ready;
      dw.setDevice(fromHex(fx.viewer_device_hex));
      const out = {};
      // A camera that is not paired: frames are dropped, never passed on.
      const run = async (cameraId, frames) => {
        const collected = [];
        const readable = new ReadableStream({ start(c) { for (const f of frames) c.enqueue(f); c.close(); } });
        let done;
        const finished = new Promise((resolve) => { done = resolve; });
        const writable = new WritableStream({ write(frame) { collected.push(frame); }, close() { done(); } });
        dw.worker.postMessage({ type: 'streams', cameraId, readable, writable }, [readable, writable]);
        await finished;
        return collected;
      };
      for (const [cameraId, { codec, vectors }] of Object.entries(input)) {
        dw.addCamera(cameraId, fromHex(fx.camera_public_hex));
        for (const e of fx.envelopes) await dw.acceptEnvelope(cameraId, fromHex(e.envelope_hex), fx.now);
        dw.setCodec(cameraId, codec);
        const first = fromHex(vectors[0].protected_hex);
        const tampered = first.slice();
        tampered[tampered.length - 1] ^= 1;
        const frames = [{ type: 'key', data: tampered.buffer }, ...vectors.map((v) => ({ type: 'key', data: fromHex(v.protected_hex).buffer }))];
        if (codec === 'opus') for (const f of frames) delete f.type;
        const collected = await run(cameraId, frames);
        out[cameraId] = collected.map((f) => toHex(f.data));
      }
      out.unpaired = (await run('cam-unpaired', [{ type: 'key', data: fromHex(input['cam-vp8'].vectors[0].protected_hex).buffer }])).length;
      // Counters arrive every 500 ms; wait (bounded) until all four cameras reported.
      const deadline = performance.now() + 5000;
      while (Object.keys(counters).length < 4 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return { out, counters };
    }, { fixture, streams });

    for (const [cameraId, { vectors }] of Object.entries(streams)) {
      assert.deepEqual(result.out[cameraId], vectors.map((v) => v.plaintext_hex), `${cameraId}: only the genuine frames, byte-exact`);
      const c = result.counters[cameraId];
      assert.equal(c.decrypted, vectors.length, cameraId);
      assert.equal(c.failed, 1, `${cameraId}: the tampered frame counted as failed`);
      assert.equal(c.duplicates, 0, cameraId);
      assert.match(c.lastError, /authentic/i);
    }
    assert.equal(result.out.unpaired, 0, 'a frame without a key is dropped');
    assert.equal(result.counters['cam-unpaired'].unknownKey, 1);
  } finally {
    await browser.close();
  }
});
