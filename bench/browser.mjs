// Browser figures for docs/benchmarks.md (issue 8), in headless Chromium against the real
// stack (release signaling + embedded SFU, the camera agent on testsrc, the viewer app):
//   - glass-to-glass latency: testsrc's pixel-strip capture time → the frame's display time
//     (requestVideoFrameCallback's expectedDisplayTime), p50 / p95;
//   - WASM decrypt throughput inside the viewer's own transform worker (same module instance,
//     reached through Playwright's worker handle), 10 KB frames;
//   - page load → first decoded frame, for an already paired viewer.
// Usage (bench/run calls it): SEALCAM_SIGNALING_BIN=… SEALCAM_AGENT_BIN=… node bench/browser.mjs
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  startAgentStack, openViewer, pairThroughUi, waitLive, tileSelector, framesDecoded,
} from '../tests/browser/stack.mjs';
import { ROOT } from '../tests/browser/harness.mjs';

const CAMERA = 'bench-cam';
const SAMPLES = Number(process.env.BENCH_G2G_SAMPLES ?? 150);
const FRAMES = 600;
const FRAME_BYTES = 10 * 1024;
const RELOADS = 3;

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
};
const log = (text) => process.stderr.write(`[browser] ${text}\n`);

/** Encrypted frames and the fixture that opens them (the e2ee crate writes both). */
function decryptInputs() {
  const dir = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'bench-results');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'wasm-frames.bin');
  const args = ['bench-frames', out, String(FRAMES), String(FRAME_BYTES)];
  // bench/run builds the example first and passes it; standalone, cargo builds it.
  if (process.env.SEALCAM_GEN_FIXTURE_BIN) {
    execFileSync(process.env.SEALCAM_GEN_FIXTURE_BIN, args, { stdio: 'inherit', cwd: ROOT });
  } else {
    execFileSync('cargo', ['run', '--quiet', '--release', '-p', 'e2ee', '--example', 'gen_wasm_fixture', '--', ...args],
      { stdio: 'inherit', cwd: ROOT });
  }
  const fixture = JSON.parse(readFileSync(join(ROOT, 'e2ee/tests/vectors/wasm_fixture.json'), 'utf8'));
  return { frames: readFileSync(out).toString('base64'), fixture };
}

/** Capture-to-display latency of `count` consecutive displayed frames, in ms. */
function glassToGlass(page, count) {
  return page.evaluate(async ([sel, n]) => {
    const { readStrip, CELL, STRIP_BITS } = await import('/js/pixel-strip.js');
    const video = document.querySelector(`${sel} video`);
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    return new Promise((resolve) => {
      const out = [];
      const onFrame = (_now, meta) => {
        const width = video.videoWidth;
        const rows = Math.ceil(STRIP_BITS / Math.floor(width / CELL)) * CELL;
        [canvas.width, canvas.height] = [width, rows];
        ctx.drawImage(video, 0, 0, width, rows, 0, 0, width, rows);
        const strip = readStrip(ctx.getImageData(0, 0, width, rows).data, width, rows);
        // Both clocks are this machine's wall clock: the agent stamps capture µs since the epoch.
        if (strip) out.push(performance.timeOrigin + meta.expectedDisplayTime - strip.capturedUs / 1000);
        if (out.length >= n) resolve(out); else video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    });
  }, [tileSelector(CAMERA), count]);
}

/** Decrypt MB/s in the transform worker, with the module instance the viewer uses. */
async function workerDecrypt(page, inputs) {
  const worker = page.workers().find((w) => w.url().includes('transform-worker.js'));
  if (!worker) throw new Error('no transform worker in the page');
  return worker.evaluate(async ({ frames, fixture }) => {
    const wasm = await import(new URL('../pkg/wasm_decrypt.js', self.location.href).href);
    const hex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
    const raw = Uint8Array.from(atob(frames), (c) => c.charCodeAt(0));
    const list = [];
    const view = new DataView(raw.buffer);
    for (let at = 0; at < raw.length;) {
      const length = view.getUint32(at, true);
      list.push(raw.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    const device = wasm.ViewerDevice.fromBytes(hex(fixture.viewer_device_hex));
    const run = (frameList) => {
      const decryptor = new wasm.Decryptor(hex(fixture.camera_public_hex));
      for (const e of fixture.envelopes) decryptor.acceptEnvelope(device, hex(e.envelope_hex), fixture.now);
      const started = performance.now();
      let bytes = 0;
      for (const frame of frameList) {
        const plain = decryptor.decrypt('vp8', frame);
        if (!plain) throw new Error(`decrypt failed: ${decryptor.lastError}`);
        bytes += plain.length;
      }
      return { bytes, ms: performance.now() - started };
    };
    run(list.slice(0, 100));
    const { bytes, ms } = run(list);
    return { frames: list.length, mbps: bytes / (ms / 1000) / 1e6, usPerFrame: (ms * 1000) / list.length };
  }, inputs);
}

/**
 * Reload → the first decoded picture on screen, for a viewer that already holds its keys,
 * in ms: the tile is live (its veil lifted) and its video has a frame. (The stats poll's
 * `framesDecoded`, used before, comes once a second and measured the poll.)
 */
async function loadToFirstFrame(page) {
  const started = Date.now();
  await page.reload();
  await page.waitForFunction((sel) => {
    const tile = document.querySelector(sel);
    return tile?.dataset.status === 'live' && tile.querySelector('video').readyState >= 2;
  }, tileSelector(CAMERA), { timeout: 30_000, polling: 'raf' });
  return Date.now() - started;
}

const inputs = decryptInputs();
log('starting signaling and the camera agent (testsrc 640x480@30)');
const stack = await startAgentStack(CAMERA);
let viewer;
try {
  viewer = await openViewer({ origin: stack.origin, token: stack.viewerToken, api: 'script-transform' });
  const { page } = viewer;
  await pairThroughUi(page, CAMERA, await stack.agent.pair());
  await waitLive(page, CAMERA);
  log(`live (${await framesDecoded(page, CAMERA)} frames decoded); sampling ${SAMPLES} frames`);
  const latencies = await glassToGlass(page, SAMPLES);
  const decrypt = await workerDecrypt(page, inputs);
  const loads = [];
  for (let i = 0; i < RELOADS; i += 1) loads.push(await loadToFirstFrame(page));
  const result = {
    glassToGlassP50Ms: quantile(latencies, 0.5),
    glassToGlassP95Ms: quantile(latencies, 0.95),
    samples: latencies.length,
    workerDecryptMBps: decrypt.mbps,
    workerDecryptUsPerFrame: decrypt.usPerFrame,
    loadToFirstFrameMs: quantile(loads, 0.5),
    loadToFirstFrameAllMs: loads,
  };
  console.log(`glass-to-glass (640x480@30, ${result.samples} frames): p50 ${result.glassToGlassP50Ms.toFixed(1)} ms, p95 ${result.glassToGlassP95Ms.toFixed(1)} ms`);
  console.log(`WASM decrypt in the transform worker: ${decrypt.mbps.toFixed(1)} MB/s (${decrypt.usPerFrame.toFixed(1)} µs per ${FRAME_BYTES} B frame)`);
  console.log(`page load → first decoded frame (paired viewer): median ${result.loadToFirstFrameMs} ms of [${loads.join(', ')}]`);
  console.log(JSON.stringify(result));
} finally {
  await viewer?.close();
  await stack.stop();
}
