// Relay payload framing (docs/e2ee-messages.md) and the wire reader for the key-side
// objects the page inspects (e2ee/src/wire.rs layouts), on hand-built byte strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as payloads from '../../web-viewer/js/payloads.js';
import { cameraIdOf, peekEnvelope, parseViewerPublic, WireError } from '../../web-viewer/js/wire.js';
import { parseMembership, deviceIdOf, withDeviceIds } from '../../web-viewer/js/membership.js';

const enc = new TextEncoder();
const cat = (...parts) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
const str8 = (s) => cat(enc.encode(s).length, enc.encode(s));
const u64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; };
const u32 = (n) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };
const bytes16 = (b) => cat(b.length >> 8, b.length & 0xff, b);
const fill = (n, v) => new Uint8Array(n).fill(v);
const cameraPublic = (id) => cat(0x02, 0x01, str8(id), fill(32, 1), fill(32, 2));
const viewerPublic = (name, seed) => cat(0x04, 0x01, str8(name), fill(32, seed), fill(32, seed + 1));

test('base64 round trips every length and rejects non-canonical text', () => {
  for (let len = 0; len < 70; len += 1) {
    const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
    const text = payloads.toBase64(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64'));
    assert.deepEqual(payloads.fromBase64(text), bytes);
  }
  for (const bad of ['abc', 'ab=c', 'YQ', 'YQ==\n', '****', 'a-b_', 42, null]) {
    assert.throws(() => payloads.fromBase64(bad), WireError, String(bad));
  }
});

test('a successful pair_response yields the camera key and the role', () => {
  const camera = cameraPublic('front-door');
  const owner = payloads.decodePairResponse(cat(0x00, camera, 0x01));
  assert.deepEqual(owner, { ok: true, cameraPublic: camera, role: 'owner' });
  assert.equal(payloads.decodePairResponse(cat(0x00, camera, 0x02)).role, 'viewer');
  assert.equal(cameraIdOf(owner.cameraPublic), 'front-door');
  assert.throws(() => payloads.decodePairResponse(cat(0x00, camera, 0x07)), /unknown role/);
  assert.throws(() => payloads.decodePairResponse(new Uint8Array()), /empty/);
});

test('a refused pair_response carries its reason and sentence', () => {
  const cases = [[0x01, 'bad_code'], [0x02, 'expired'], [0x03, 'rate_limited'], [0xff, 'other'], [0x42, 'other']];
  for (const [status, reason] of cases) {
    const answer = payloads.decodePairResponse(cat(status, enc.encode('The code has expired; print a new one.')));
    assert.deepEqual(answer, { ok: false, status, reason, message: 'The code has expired; print a new one.' });
  }
  assert.match(payloads.decodePairResponse(Uint8Array.of(0x01)).message, /refused/);
});

test('owner_result carries the membership bytes or a refusal', () => {
  assert.deepEqual(payloads.decodeOwnerResult(cat(0x00, 0x09, 0x01)), { ok: true, membership: Uint8Array.of(0x09, 0x01) });
  const refused = payloads.decodeOwnerResult(cat(0x04, enc.encode('Only an owner can do that.')));
  assert.equal(refused.ok, false);
  assert.equal(refused.message, 'Only an owner can do that.');
  assert.deepEqual(payloads.LIST_MEMBERS, Uint8Array.of(0x4c));
});

test('camera public keys: id read, wrong kind, version and length refused', () => {
  assert.equal(cameraIdOf(cameraPublic('garage')), 'garage');
  assert.throws(() => cameraIdOf(viewerPublic('x', 1)), /not a camera public key/);
  assert.throws(() => cameraIdOf(cat(0x02, 0x02, str8('a'), fill(64, 0))), /version 2 is not supported/);
  assert.throws(() => cameraIdOf(cameraPublic('a').subarray(0, 40)), /truncated/);
  assert.throws(() => cameraIdOf(cat(cameraPublic('a'), 0)), /trailing/);
});

test('envelope header: ids, generation and expiry', () => {
  const envelope = cat(0x05, 0x01, str8('front-door'), str8('3f9c2a7b1d000000'), u64(7), u64(1_764_500_600), fill(32, 9), bytes16(fill(32, 3)), fill(64, 4));
  assert.deepEqual(peekEnvelope(envelope), { cameraId: 'front-door', viewerId: '3f9c2a7b1d000000', generation: 7, expiresAt: 1_764_500_600 });
  const huge = cat(0x05, 0x01, str8('a'), str8('b'), u64(2n ** 60n), u64(1));
  assert.throws(() => peekEnvelope(huge), /too large/);
});

test('membership list: members, roles, version; device ids recomputed from keys', async () => {
  const anna = viewerPublic("Anna's phone", 10);
  const laptop = viewerPublic('laptop', 20);
  const list = cat(0x09, 0x01, str8('front-door'), u64(5), u32(2),
    bytes16(laptop), 0x02, u64(1_764_000_100),
    bytes16(anna), 0x01, u64(1_764_000_000));
  const parsed = parseMembership(list);
  assert.equal(parsed.cameraId, 'front-door');
  assert.equal(parsed.version, 5);
  assert.deepEqual(parsed.members.map((m) => [m.device.name, m.role, m.addedAt]), [
    ['laptop', 'viewer', 1_764_000_100], ["Anna's phone", 'owner', 1_764_000_000],
  ]);
  const { createHash } = await import('node:crypto');
  const expected = createHash('sha256').update('sealcam/v1 device-id').update(fill(32, 10)).update(fill(32, 11)).digest('hex').slice(0, 16);
  assert.equal(await deviceIdOf(parseViewerPublic(anna)), expected);
  const sorted = await withDeviceIds(parsed);
  assert.deepEqual(sorted.members.map((m) => m.role), ['owner', 'viewer']);
  assert.equal(sorted.members[0].deviceId, expected);
});

test('membership list: lying counts, unknown roles and truncation are errors', () => {
  const header = cat(0x09, 0x01, str8(''), u64(1));
  assert.throws(() => parseMembership(cat(header, u32(0xffff_ffff))), /count exceeds/);
  assert.throws(() => parseMembership(cat(header, u32(1), bytes16(viewerPublic('a', 1)), 0x03, u64(0))), /unknown role/);
  assert.throws(() => parseMembership(cat(header, u32(1), bytes16(viewerPublic('a', 1)), 0x01)), /truncated/);
  assert.deepEqual(parseMembership(cat(header, u32(0))).members, []);
});

test('random bytes never escape as anything but WireError', () => {
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
  for (let i = 0; i < 2000; i += 1) {
    const len = rand() % 120;
    const bytes = Uint8Array.from({ length: len }, () => rand() & 0xff);
    if (len > 0) bytes[0] = [0x02, 0x05, 0x09, 0x04][i % 4];
    if (len > 1) bytes[1] = 0x01;
    for (const parse of [cameraIdOf, peekEnvelope, parseMembership, parseViewerPublic, payloads.decodePairResponse, payloads.decodeOwnerResult]) {
      try { parse(bytes); } catch (e) { assert.ok(e instanceof WireError, `${parse.name}: ${e}`); }
    }
  }
});
