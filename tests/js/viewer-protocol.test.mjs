// The viewer's mirror of the signaling protocol against the shared fixture file, so the JS
// and Rust sides cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as protocol from '../../web-viewer/js/protocol.js';

const fixtures = JSON.parse(
  readFileSync(new URL('../../protocol/fixtures/messages.json', import.meta.url), 'utf8'),
);
const clientFixture = (type) => fixtures.client_to_server.find((m) => m.type === type);

test('limits and version equal the fixture file', () => {
  assert.equal(protocol.PROTOCOL_VERSION, fixtures.protocol_version);
  assert.equal(protocol.MAX_MESSAGE_BYTES, fixtures.max_message_bytes);
  assert.equal(protocol.MAX_PAYLOAD_BYTES, fixtures.max_payload_bytes);
});

test('every server message in the fixture parses to the same value', () => {
  const types = new Set();
  for (const message of fixtures.server_to_client) {
    assert.deepEqual(protocol.parseServerMessage(JSON.stringify(message)), message);
    types.add(message.type);
  }
  assert.deepEqual([...types].sort(), [...protocol.SERVER_TYPES].sort());
});

test('builders produce exactly the fixture messages the viewer sends', () => {
  const f = (type) => clientFixture(type);
  assert.deepEqual(protocol.hello(f('hello').token), f('hello'));
  assert.deepEqual(protocol.subscribe('front-door', f('subscribe').sdp), f('subscribe'));
  assert.deepEqual(protocol.unsubscribe('front-door'), f('unsubscribe'));
  assert.deepEqual(protocol.keyRequest('front-door', f('key_request').payload), f('key_request'));
  assert.deepEqual(protocol.pairRequest('front-door', f('pair_request').payload), f('pair_request'));
  assert.deepEqual(protocol.ownerCommand('front-door', f('owner_command').payload), f('owner_command'));
  assert.deepEqual(
    protocol.statsReport('front-door', { decrypted: 300, duplicate: 2, failed: 0 }),
    f('stats_report'),
  );
  assert.deepEqual(protocol.ping(), f('ping'));
  assert.deepEqual(protocol.pong(), f('pong'));
  assert.deepEqual(JSON.parse(protocol.encode(protocol.ping())), { type: 'ping' });
});

test('the closing error codes are exactly those the fixture marks close: true', () => {
  const closing = fixtures.error_codes.filter((e) => e.close).map((e) => e.code).sort();
  assert.deepEqual([...protocol.CLOSING_ERRORS].sort(), closing);
  for (const code of protocol.FATAL_ERRORS) assert.ok(protocol.CLOSING_ERRORS.has(code), code);
  assert.equal(protocol.isFatalError({ type: 'error', code: 'token_expired' }), true);
  assert.equal(protocol.isFatalError({ type: 'error', code: 'shutting_down' }), false);
});

test('bad server messages are ProtocolErrors naming the problem', () => {
  const bad = [
    ['not json', /not JSON/],
    ['[1,2]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"type":"teleport"}', /unknown server message type "teleport"/],
    ['{"type":"toString"}', /unknown server message type/],
    ['{"type":"welcome","version":1,"role":"viewer","cameras":"x","session_id":"s"}', /welcome.cameras/],
    ['{"type":"camera_status","camera_id":"a","online":"yes","publishing":false}', /camera_status.online/],
    ['{"type":"key_envelope","camera_id":"a"}', /key_envelope.payload/],
  ];
  for (const [text, pattern] of bad) {
    assert.throws(() => protocol.parseServerMessage(text), (e) => e instanceof protocol.ProtocolError && pattern.test(e.message), text);
  }
});

test('unknown extra fields from a newer server are ignored, not refused', () => {
  const parsed = protocol.parseServerMessage('{"type":"pong","added_later":1}');
  assert.equal(parsed.type, 'pong');
});

test('a message over 64 KiB is refused before it reaches the socket', () => {
  const sdp = 'a'.repeat(protocol.MAX_MESSAGE_BYTES);
  assert.throws(() => protocol.encode(protocol.subscribe('cam', sdp)), /64 KiB/);
});
