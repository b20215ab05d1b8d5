// Owner tools against a fake signaling session: 'L' asks for the list, the owner_result is
// decoded into members with recomputed device ids, refusals surface as sentences, and a
// build that cannot sign commands says so instead of sending anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listMembers, revokeMember, approveMember, canSignCommands } from '../../web-viewer/js/owner.js';
import { deviceCode, parseDeviceCode } from '../../web-viewer/js/payloads.js';

const enc = new TextEncoder();
const cat = (...parts) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
const str8 = (s) => cat(enc.encode(s).length, enc.encode(s));
const u64 = (n) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; };
const u32 = (n) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); return b; };
const bytes16 = (b) => cat(b.length >> 8, b.length & 0xff, b);
const viewerPublic = (name, seed) => cat(0x04, 0x01, str8(name), new Uint8Array(32).fill(seed), new Uint8Array(32).fill(seed + 1));
const b64 = (bytes) => Buffer.from(bytes).toString('base64');

function fakeSignaling(reply) {
  const sent = [];
  let waiter = null;
  return {
    sent,
    send(message) {
      sent.push(message);
      const answer = reply(message);
      queueMicrotask(() => {
        const verdict = answer && waiter?.match(answer);
        if (verdict === 'accept') waiter.resolve(answer);
        if (verdict === 'reject') waiter.reject(new Error(answer.message));
      });
      return true;
    },
    waitFor(match) {
      return new Promise((resolve, reject) => { waiter = { match, resolve, reject }; });
    },
  };
}

const LIST = cat(0x09, 0x01, str8('front-door'), u64(4), u32(2),
  bytes16(viewerPublic('laptop', 1)), 0x02, u64(1_764_000_100),
  bytes16(viewerPublic('phone', 5)), 0x01, u64(1_764_000_000));

test('listing members sends the single byte L and decodes the answer', async () => {
  const signaling = fakeSignaling(() => ({ type: 'owner_result', camera_id: 'front-door', payload: b64(cat(0x00, LIST)) }));
  const membership = await listMembers(signaling, 'front-door');
  assert.deepEqual(signaling.sent, [{ type: 'owner_command', camera_id: 'front-door', payload: 'TA==' }]);
  assert.equal(membership.version, 4);
  assert.deepEqual(membership.members.map((m) => [m.device.name, m.role]), [['phone', 'owner'], ['laptop', 'viewer']]);
  assert.match(membership.members[0].deviceId, /^[0-9a-f]{16}$/);
});

test("a camera's refusal and a server error reach the caller as sentences", async () => {
  const refusing = fakeSignaling(() => ({ type: 'owner_result', camera_id: 'front-door', payload: b64(cat(0x01, enc.encode('Only an owner device can do that.'))) }));
  await assert.rejects(listMembers(refusing, 'front-door'), /Only an owner device can do that\./);
  const offline = fakeSignaling(() => ({ type: 'error', code: 'camera_offline', message: 'The camera is not connected.', close: false }));
  await assert.rejects(listMembers(offline, 'front-door'), /not connected/);
});

test('revoking signs for the list version it was read at', async () => {
  const calls = [];
  const device = {
    signRevoke: (...args) => { calls.push(['revoke', ...args]); return Uint8Array.of(0x08, 0x01, 0xaa); },
    signApprove: (...args) => { calls.push(['approve', ...args]); return Uint8Array.of(0x08, 0x01, 0xbb); },
  };
  const signaling = fakeSignaling(() => ({ type: 'owner_result', camera_id: 'front-door', payload: b64(cat(0x00, LIST)) }));
  await revokeMember({ signaling, device, cameraId: 'front-door', deviceId: 'abcdef0123456789', version: 4, nowSecs: 1_764_000_500.7 });
  const newcomer = viewerPublic('tablet', 9);
  await approveMember({ signaling, device, cameraId: 'front-door', devicePublic: newcomer, role: 'viewer', version: 4, nowSecs: 1_764_000_501 });
  assert.deepEqual(calls, [
    ['revoke', 'front-door', 'abcdef0123456789', 4, 1_764_000_500],
    ['approve', 'front-door', newcomer, 'viewer', 4, 1_764_000_501],
  ]);
  assert.equal(signaling.sent[0].payload, b64(Uint8Array.of(0x08, 0x01, 0xaa)));
  assert.equal(signaling.sent[1].payload, b64(Uint8Array.of(0x08, 0x01, 0xbb)));
});

test('device codes carry public keys only and survive line breaks', () => {
  const keys = viewerPublic('tablet', 9);
  const code = deviceCode(keys);
  assert.match(code, /^sealcam-device:[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(parseDeviceCode(`  ${code.slice(0, 20)}\n${code.slice(20)} `), keys);
  assert.throws(() => parseDeviceCode('AAAA'), /starts with "sealcam-device:"/);
  assert.throws(() => parseDeviceCode('sealcam-device:***'), /not base64/);
});

test('without signing support nothing is sent and the person is told where to revoke', async () => {
  assert.equal(canSignCommands({}), false);
  const signaling = fakeSignaling(() => null);
  await assert.rejects(
    revokeMember({ signaling, device: {}, cameraId: 'front-door', deviceId: 'x', version: 1 }),
    /camera-agent viewers/,
  );
  assert.equal(signaling.sent.length, 0);
});
