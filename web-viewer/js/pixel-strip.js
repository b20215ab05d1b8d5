// Reads the camera agent's testsrc pixel strip (camera-agent/src/source/testsrc/pattern.rs)
// from a decoded picture: 112 black/white 8x8 cells, row-major from the top-left corner,
// carrying magic 0x5ea1 (16 bits), the frame counter (32) and the capture time in µs since
// the Unix epoch (64), most significant bit first. Capture time minus display time is the
// glass-to-glass latency the overlay shows; clocks of camera and viewer must agree (NTP).

export const CELL = 8;
export const MAGIC = 0x5ea1;
export const STRIP_BITS = 16 + 32 + 64;

/** Luma of a full-range RGB pixel (BT.601 weights), 0..255. */
function luma(rgba, offset) {
  return 0.299 * rgba[offset] + 0.587 * rgba[offset + 1] + 0.114 * rgba[offset + 2];
}

/**
 * @param {Uint8ClampedArray|Uint8Array} rgba pixels, 4 bytes each, rows of `width`
 * @param {number} width
 * @param {number} height
 * @returns {{frame: number, capturedUs: number} | null} null when there is no strip (any
 *   other video source, a garbage decode, or a picture too small to hold one)
 */
export function readStrip(rgba, width, height) {
  const cellsPerRow = Math.floor(width / CELL);
  if (cellsPerRow === 0) return null;
  const rows = Math.ceil(STRIP_BITS / cellsPerRow);
  if (rows * CELL > height || rgba.length < width * height * 4) return null;
  let value = 0n;
  for (let i = 0; i < STRIP_BITS; i += 1) {
    const row = Math.floor(i / cellsPerRow);
    const col = i % cellsPerRow;
    // The cell's centre, away from the edges where compression rings.
    const x = col * CELL + CELL / 2;
    const y = row * CELL + CELL / 2;
    const bit = luma(rgba, (y * width + x) * 4) > 128 ? 1n : 0n;
    value = (value << 1n) | bit;
  }
  const magic = Number(value >> 96n);
  if (magic !== MAGIC) return null;
  const frame = Number((value >> 64n) & 0xffff_ffffn);
  const captured = value & 0xffff_ffff_ffff_ffffn;
  if (captured > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { frame, capturedUs: Number(captured) };
}

/** Capture-to-now latency in ms, or null when the strip is absent or the clocks disagree. */
export function latencyMs(strip, nowMs) {
  if (!strip) return null;
  const latency = nowMs - strip.capturedUs / 1000;
  // Negative or absurd values mean unsynchronised clocks: show nothing rather than a lie.
  return latency >= 0 && latency < 60_000 ? latency : null;
}
