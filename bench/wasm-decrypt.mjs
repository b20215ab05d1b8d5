// WASM decrypt throughput under node, for 10 KB frames (issue 2's browser-side figure).
// Usage: scripts/build-wasm && node bench/wasm-decrypt.mjs [COUNT] [SIZE]
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { loadDecryptor, readVector, fromHex } from '../tests/js/wasm-loader.mjs';

const count = Number(process.argv[2] ?? 2000);
const size = Number(process.argv[3] ?? 10 * 1024);
const out = 'target/bench/wasm-frames.bin';
mkdirSync('target/bench', { recursive: true });
execFileSync('cargo', ['run', '--quiet', '--release', '-p', 'e2ee', '--example', 'gen_wasm_fixture',
  '--', 'bench-frames', out, String(count), String(size)], { stdio: 'inherit' });

const frames = [];
const data = readFileSync(out);
for (let at = 0; at < data.length;) {
  const length = data.readUInt32LE(at);
  frames.push(new Uint8Array(data.subarray(at + 4, at + 4 + length)));
  at += 4 + length;
}

const wasm = await loadDecryptor();
const fixture = readVector('wasm_fixture.json');
const device = wasm.ViewerDevice.fromBytes(fromHex(fixture.viewer_device_hex));

function run(list) {
  const decryptor = new wasm.Decryptor(fromHex(fixture.camera_public_hex));
  for (const e of fixture.envelopes) decryptor.acceptEnvelope(device, fromHex(e.envelope_hex), fixture.now);
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const frame of list) {
    const plain = decryptor.decrypt('vp8', frame);
    if (!plain) throw new Error(`frame failed: ${decryptor.lastError}`);
    bytes += plain.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { bytes, seconds };
}

run(frames.slice(0, Math.min(200, frames.length))); // warm up the JIT and the module
const { bytes, seconds } = run(frames);
const mbps = bytes / seconds / 1e6;
const perFrameUs = (seconds / frames.length) * 1e6;
console.log(`wasm decrypt: ${frames.length} frames x ${size} B: ${mbps.toFixed(1)} MB/s, ` +
  `${perFrameUs.toFixed(1)} µs/frame`);
// A 2 Mbit/s stream is 0.25 MB/s: the share of one core it costs a viewer.
console.log(`2 Mbit/s stream costs ${((0.25 / mbps) * 100).toFixed(3)} % of one core`);
