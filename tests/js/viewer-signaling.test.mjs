// The viewer's signaling session against a scripted fake WebSocket and manual timers:
// hello first with the token, ping answered, reconnect with back-off, no reconnect after a
// fatal error, and waitFor's accept / reject / timeout / disconnect paths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient, socketUrl } from '../../web-viewer/js/signaling.js';
import { Backoff } from '../../web-viewer/js/backoff.js';
import { defaultDeviceName } from '../../web-viewer/js/device.js';

class FakeSocket {
  static all = [];

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    FakeSocket.all.push(this);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close() {
    this.closed = true;
  }

  // Test side: what the server does.
  open() { this.onopen?.(); }
  deliver(message) { this.onmessage?.({ data: JSON.stringify(message) }); }
  drop(code = 1006) { this.onclose?.({ code }); }
}

function harness() {
  FakeSocket.all = [];
  const timers = [];
  const client = new SignalingClient({
    url: 'ws://127.0.0.1:1/ws',
    token: 'aaa.bbb.ccc',
    WebSocketImpl: FakeSocket,
    backoff: new Backoff({ baseMs: 500, maxMs: 4000, random: () => 1 }),
    setTimer: (fn, ms) => { timers.push({ fn, ms, live: true }); return timers.length - 1; },
    clearTimer: (id) => { if (timers[id]) timers[id].live = false; },
    now: () => 0,
  });
  const fire = (ms) => {
    const due = timers.filter((t) => t.live && t.ms === ms);
    for (const t of due) { t.live = false; t.fn(); }
    return due.length;
  };
  const events = [];
  for (const type of ['welcome', 'message', 'disconnected', 'reconnecting', 'fatal']) {
    client.addEventListener(type, (e) => events.push([type, e.detail]));
  }
  return { client, timers, fire, events };
}

const WELCOME = { type: 'welcome', version: 1, role: 'viewer', cameras: ['front-door'], session_id: 's1' };

test('the token goes only in the first message; the URL carries none', () => {
  const { client } = harness();
  client.start();
  const [socket] = FakeSocket.all;
  assert.equal(socket.url, 'ws://127.0.0.1:1/ws');
  assert.equal(client.send({ type: 'ping' }), false, 'nothing is sent before welcome');
  socket.open();
  assert.deepEqual(socket.sent, [{ type: 'hello', version: 1, token: 'aaa.bbb.ccc' }]);
  socket.deliver(WELCOME);
  assert.equal(client.ready, true);
  socket.deliver({ type: 'ping' });
  assert.deepEqual(socket.sent.at(-1), { type: 'pong' });
  assert.equal(socketUrl({ protocol: 'https:', host: 'cam.example:8443' }), 'wss://cam.example:8443/ws');
  assert.equal(socketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }), 'ws://127.0.0.1:8080/ws');
});

test('a dropped connection reconnects after growing delays, reset by welcome', () => {
  const { client, fire, events } = harness();
  client.start();
  FakeSocket.all[0].drop();
  assert.deepEqual(events.filter(([t]) => t === 'reconnecting').map(([, d]) => d.delayMs), [500]);
  assert.equal(fire(500), 1);
  assert.equal(FakeSocket.all.length, 2);
  FakeSocket.all[1].drop();
  assert.equal(fire(1000), 1);
  const third = FakeSocket.all[2];
  third.open();
  third.deliver(WELCOME);
  third.drop();
  assert.equal(fire(500), 1, 'welcome reset the back-off');
  assert.equal(FakeSocket.all.length, 4);
});

test('a fatal error stops reconnecting; stop() closes for good', () => {
  const { client, timers, events } = harness();
  client.start();
  const socket = FakeSocket.all[0];
  socket.open();
  socket.deliver({ type: 'error', code: 'token_expired', message: 'The access token has expired.', close: true });
  socket.drop(1008);
  assert.equal(events.filter(([t]) => t === 'fatal').length, 1);
  assert.equal(events.filter(([t]) => t === 'reconnecting').length, 0);
  assert.equal(timers.filter((t) => t.live && t.ms !== 20_000).length, 0);

  const second = harness();
  second.client.start();
  second.client.stop();
  assert.equal(FakeSocket.all[0].closed, true);
  assert.equal(second.events.filter(([t]) => t === 'reconnecting').length, 0);
});

test('waitFor resolves, rejects on a matching error, times out, and fails on disconnect', async () => {
  const { client, fire } = harness();
  client.start();
  const socket = FakeSocket.all[0];
  socket.open();
  socket.deliver(WELCOME);
  const match = (m) => (m.type === 'pair_response' ? 'accept' : m.type === 'error' ? 'reject' : null);

  const answered = client.waitFor(match, 1111);
  socket.deliver({ type: 'camera_status', camera_id: 'x', online: true, publishing: false });
  socket.deliver({ type: 'pair_response', camera_id: 'front-door', payload: 'AA==' });
  assert.equal((await answered).payload, 'AA==');

  const refused = client.waitFor(match, 1111);
  socket.deliver({ type: 'error', code: 'camera_offline', message: 'The camera is not connected.', close: false });
  await assert.rejects(refused, /camera is not connected/);

  const silent = client.waitFor(match, 2222);
  fire(2222);
  await assert.rejects(silent, /No answer in time/);

  const dropped = client.waitFor(match, 3333);
  socket.drop();
  await assert.rejects(dropped, /dropped/);
});

test('unknown message types are reported, not fatal', () => {
  const { client, events } = harness();
  const errors = [];
  client.addEventListener('protocol-error', (e) => errors.push(e.detail.message));
  client.start();
  const socket = FakeSocket.all[0];
  socket.open();
  socket.deliver({ type: 'hologram' });
  socket.deliver(WELCOME);
  assert.equal(errors.length, 1);
  assert.equal(events.filter(([t]) => t === 'welcome').length, 1);
});

test('default device names come from the user agent', () => {
  const ua = (s) => ({ userAgent: s });
  assert.equal(defaultDeviceName(ua('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36')), 'Chromium on Linux');
  assert.equal(defaultDeviceName(ua('Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1')), 'Safari on iOS');
  assert.equal(defaultDeviceName(ua('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0')), 'Firefox on Windows');
  assert.equal(defaultDeviceName(ua('')), 'Browser');
});
