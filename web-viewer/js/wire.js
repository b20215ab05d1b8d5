// Reader for the versioned binary encoding of e2ee's key-side objects (e2ee/src/wire.rs):
// `kind: u8 | version: u8 | fields...`, big-endian integers, `str8` and `bytes16` strings.
// The viewer only needs to *read* a few headers (camera id, envelope generation and expiry,
// the membership list); everything cryptographic stays in the WASM module.

/** The `kind` byte of each object this page reads. */
export const Kind = Object.freeze({
  CameraPublic: 0x02,
  ViewerPublic: 0x04,
  Envelope: 0x05,
  Membership: 0x09,
});

/** The only format version this build reads. */
export const WIRE_VERSION = 1;

/** Bad bytes are an error with a sentence, never an exception from deep inside a DataView. */
export class WireError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WireError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Reader {
  /**
   * @param {Uint8Array} bytes
   * @param {number} kind expected first byte
   * @param {string} what human name used in error sentences
   */
  constructor(bytes, kind, what) {
    if (!(bytes instanceof Uint8Array)) throw new WireError(`${what}: expected bytes`);
    this.bytes = bytes;
    this.what = what;
    this.pos = 0;
    const [gotKind, version] = [this.u8(), this.u8()];
    if (gotKind !== kind) {
      throw new WireError(`${what}: this is not a ${what} (kind 0x${gotKind.toString(16)})`);
    }
    if (version !== WIRE_VERSION) {
      throw new WireError(`${what}: format version ${version} is not supported; update the viewer`);
    }
  }

  take(len) {
    if (this.pos + len > this.bytes.length) {
      throw new WireError(`${this.what}: truncated at byte ${this.pos}`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  u8() {
    return this.take(1)[0];
  }

  u16() {
    const b = this.take(2);
    return (b[0] << 8) | b[1];
  }

  u32() {
    const b = this.take(4);
    return ((b[0] << 24) >>> 0) + ((b[1] << 16) | (b[2] << 8) | b[3]);
  }

  /** A u64 as a Number; values past 2^53 (never produced for times or counters) are refused. */
  u64() {
    const b = this.take(8);
    let value = 0n;
    for (const byte of b) value = (value << 8n) | BigInt(byte);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new WireError(`${this.what}: a 64-bit field is too large for this viewer`);
    }
    return Number(value);
  }

  str8() {
    const raw = this.take(this.u8());
    try {
      return utf8.decode(raw);
    } catch {
      throw new WireError(`${this.what}: text field is not UTF-8`);
    }
  }

  bytes16() {
    return this.take(this.u16());
  }

  finish() {
    if (this.pos !== this.bytes.length) {
      throw new WireError(`${this.what}: ${this.bytes.length - this.pos} unexpected trailing bytes`);
    }
  }
}

/** The camera id inside `CameraPublic` bytes (0x02 | 0x01 | str8 id | [32] | [32]). */
export function cameraIdOf(cameraPublic) {
  const reader = new Reader(cameraPublic, Kind.CameraPublic, 'camera public key');
  const cameraId = reader.str8();
  reader.take(64);
  reader.finish();
  return cameraId;
}

/**
 * The unauthenticated header of a key envelope (e2ee/src/envelope.rs), for scheduling key
 * expiry in the UI. Nothing here is trusted: the WASM module checks the signature.
 */
export function peekEnvelope(envelope) {
  const reader = new Reader(envelope, Kind.Envelope, 'key envelope');
  return {
    cameraId: reader.str8(),
    viewerId: reader.str8(),
    generation: reader.u64(),
    expiresAt: reader.u64(),
  };
}

/** `ViewerPublic` (0x04 | 0x01 | str8 name | [32] ed25519 | [32] x25519). */
export function parseViewerPublic(bytes) {
  const reader = new Reader(bytes, Kind.ViewerPublic, 'device public key');
  const name = reader.str8();
  const ed25519 = reader.take(32);
  const x25519 = reader.take(32);
  reader.finish();
  return { name, ed25519, x25519, bytes };
}
