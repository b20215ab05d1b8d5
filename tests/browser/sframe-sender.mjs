// A test-only SFrame sender (RFC 9605, AES_128_GCM_SHA256_128) in WebCrypto, so a browser
// test can play the camera's part for VP8, H.264 and Opus without the camera agent. Its
// output is checked byte-exact against the repository's frame vectors (e2ee/tests/vectors)
// before any browser test relies on it. Layout (DESIGN.md): clear prefix | header |
// ciphertext | tag, AAD = header | clear prefix; for H.264 the frame is normalized first
// (4-byte start codes, no AUD or filler) and emulation prevention is applied after the prefix.

const SUITE = 0x0004;
const enc = new TextEncoder();

function u64(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Minimal big-endian bytes of a value ≥ 8 (RFC 9605 §4.3 "extended" fields). */
function minimalBytes(value) {
  const bytes = [];
  let v = BigInt(value);
  while (v > 0n) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  return Uint8Array.from(bytes);
}

/** The SFrame header: config byte X|K|Y|C, then the extended KID and CTR if any. */
export function sframeHeader(kid, ctr) {
  let config = 0;
  const extra = [];
  if (kid < 8) {
    config |= kid << 4;
  } else {
    const k = minimalBytes(kid);
    config |= 0x80 | ((k.length - 1) << 4);
    extra.push(k);
  }
  if (ctr < 8) {
    config |= ctr;
  } else {
    const c = minimalBytes(ctr);
    config |= 0x08 | (c.length - 1);
    extra.push(c);
  }
  return concat(Uint8Array.of(config), ...extra);
}

/** Offsets just after each `00 00 01` (where a NAL unit header sits). */
function nalHeaderOffsets(data) {
  const offsets = [];
  for (let i = 0; i + 2 < data.length; i += 1) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      offsets.push(i + 3);
      i += 2;
    }
  }
  return offsets;
}

/** Annex B with 4-byte start codes, without access unit delimiters (9) or filler (12). */
export function normalizeH264(frame) {
  const offsets = nalHeaderOffsets(frame);
  const parts = [];
  offsets.forEach((start, i) => {
    let end = i + 1 < offsets.length ? offsets[i + 1] - 3 : frame.length;
    if (i + 1 < offsets.length) while (end > start && frame[end - 1] === 0) end -= 1;
    if (end <= start) return;
    const type = frame[start] & 0x1f;
    if (type === 9 || type === 12) return;
    parts.push(Uint8Array.of(0, 0, 0, 1), frame.subarray(start, end));
  });
  return concat(...parts);
}

/** Inserts 0x03 after `00 00` whenever the next byte is ≤ 3 (and after a final `00 00`). */
export function escapeEmulation(raw, leadingZeros) {
  const out = [];
  let zeros = Math.min(leadingZeros, 2);
  for (const byte of raw) {
    if (zeros === 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  if (zeros === 2 && raw.length > 0) out.push(3);
  return Uint8Array.from(out);
}

/** Clear bytes at the start of a frame: VP8 10 on key frames, 3 otherwise; Opus 1 (TOC);
 *  H.264 everything up to the first slice NAL header plus one byte. */
export function clearPrefixLength(codec, frame) {
  if (codec === 'vp8') return (frame[0] & 1) === 0 ? 10 : 3;
  if (codec === 'opus') return 1;
  if (codec === 'h264') {
    const slice = nalHeaderOffsets(frame).find((o) => [1, 5].includes(frame[o] & 0x1f));
    if (slice === undefined) throw new Error('no slice NAL unit in the frame');
    return slice + 2;
  }
  throw new Error(`the test sender does not do ${codec}`);
}

export class SFrameSender {
  /** @param {Uint8Array} baseKey 16 bytes  @param {number} kid the key generation */
  static async create(baseKey, kid, subtle = globalThis.crypto.subtle) {
    const ikm = await subtle.importKey('raw', baseKey, 'HKDF', false, ['deriveBits']);
    const expand = async (label, bits) => new Uint8Array(await subtle.deriveBits(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(), info: concat(enc.encode(label), u64(kid), Uint8Array.of(SUITE >> 8, SUITE & 0xff)) },
      ikm,
      bits,
    ));
    const keyBytes = await expand('SFrame 1.0 Secret key ', 128);
    const salt = await expand('SFrame 1.0 Secret salt ', 96);
    const key = await subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['encrypt']);
    return new SFrameSender(subtle, key, salt, kid);
  }

  constructor(subtle, key, salt, kid) {
    Object.assign(this, { subtle, key, salt, kid });
  }

  /** Protects one encoded frame under counter `ctr`. */
  async protect(codec, ctr, input) {
    const frame = codec === 'h264' ? normalizeH264(input) : input;
    const prefixLen = clearPrefixLength(codec, frame);
    if (frame.length <= prefixLen) throw new Error('frame shorter than its clear prefix');
    const prefix = frame.subarray(0, prefixLen);
    const header = sframeHeader(this.kid, ctr);
    const nonce = this.salt.slice();
    const counter = u64(ctr);
    for (let i = 0; i < 8; i += 1) nonce[nonce.length - 8 + i] ^= counter[i];
    const sealed = new Uint8Array(await this.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: concat(header, prefix), tagLength: 128 },
      this.key,
      frame.subarray(prefixLen),
    ));
    if (codec !== 'h264') return concat(prefix, header, sealed);
    const trailingZeros = prefix.at(-1) === 0 ? (prefix.at(-2) === 0 ? 2 : 1) : 0;
    return concat(prefix, escapeEmulation(concat(header, sealed), trailingZeros));
  }
}
