// Loads the browser build of wasm-decrypt (web-viewer/pkg, written by scripts/build-wasm)
// into node, the same module file the web viewer serves.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);

export const wasmPath = fileURLToPath(new URL('web-viewer/pkg/wasm_decrypt_bg.wasm', root));

export async function loadDecryptor() {
  const glue = await import(new URL('web-viewer/pkg/wasm_decrypt.js', root));
  const bytes = readFileSync(wasmPath);
  glue.initSync({ module: bytes });
  return glue;
}

export function readVector(name) {
  return JSON.parse(readFileSync(new URL(`e2ee/tests/vectors/${name}`, root), 'utf8'));
}

export function fromHex(hex) {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
