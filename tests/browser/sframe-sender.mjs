// A test-only SFrame sender (RFC 9605, AES_128_GCM_SHA256_128) in WebCrypto, so a browser
// test can play the camera's part for VP8 and Opus without the camera agent. Its output is
// checked byte-exact against the repository's frame vectors (e2ee/tests/vectors) before
// any browser test relies on it. Layout (DESIGN.md): clear prefix | header | ciphertext | tag,
// AAD = header | clear prefix. H.264 (emulation prevention) is not needed here.

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

/** Clear bytes at the start of a frame: VP8 10 on key frames, 3 otherwise; Opus 1 (TOC). */
export function clearPrefixLength(codec, frame) {
  if (codec === 'vp8') return (frame[0] & 1) === 0 ? 10 : 3;
  if (codec === 'opus') return 1;
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
  async protect(codec, ctr, frame) {
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
    return concat(prefix, header, sealed);
  }
}
