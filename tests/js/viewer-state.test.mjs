// The per-camera state machine: subscribe only with a key, unsubscribe when it is lost,
// key requests retried then given up as "not authorized", rotation overlap, reconnect
// back-off. Time is passed in, so nothing here sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CameraState, KEY_RETRY_MS, KEY_ATTEMPTS, NO_KEY_RETRY_MS, OVERLAP_MS, MEDIA_RETRY_MS, KEY_REFRESH_MS, STATUS_TEXT,
} from '../../web-viewer/js/camera-state.js';
import { Backoff } from '../../web-viewer/js/backoff.js';

const types = (actions) => actions.map((a) => a.type);
const HOUR_SECS = 3600;

function onlineCamera(now = 0) {
  const cam = new CameraState('front-door', { pinned: true });
  cam.status({ online: true, publishing: true });
  return { cam, first: cam.plan(now) };
}

test('an unpaired camera never asks for keys or media', () => {
  const cam = new CameraState('garage');
  cam.status({ online: true, publishing: true });
  assert.deepEqual(cam.plan(0), []);
  assert.equal(cam.display(), 'unpaired');
});

test('a keyless camera is asked for a key but never subscribed', () => {
  const { cam, first } = onlineCamera();
  assert.deepEqual(types(first), ['request-key']);
  assert.equal(cam.display(), 'waiting-key');
  assert.deepEqual(cam.plan(KEY_RETRY_MS - 1), []);
  assert.deepEqual(types(cam.plan(KEY_RETRY_MS)), ['request-key']);
  assert.equal(cam.media, 'none');
});

test('a key starts media, losing it stops media', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(3, 2 * HOUR_SECS, 100);
  assert.deepEqual(types(cam.plan(100)), ['subscribe']);
  assert.equal(cam.display(), 'connecting');
  cam.mediaFlowing();
  assert.equal(cam.display(), 'live');
  assert.deepEqual(cam.plan(200), []);
  // The envelope's expiry passes with no newer key: forget it and unsubscribe.
  const expired = cam.plan(2 * HOUR_SECS * 1000);
  assert.deepEqual(types(expired), ['forget-generation', 'request-key', 'unsubscribe']);
  assert.equal(expired[0].generation, 3);
});

test('a fresh key is asked for shortly before the newest one expires', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(3, 1000, 0);
  assert.deepEqual(types(cam.plan(0)), ['subscribe']);
  assert.deepEqual(cam.plan(1_000_000 - KEY_REFRESH_MS - 1), []);
  assert.deepEqual(types(cam.plan(1_000_000 - KEY_REFRESH_MS)), ['request-key']);
  cam.keyAccepted(4, 2000, 1_000_000 - KEY_REFRESH_MS + 10);
  assert.deepEqual(cam.plan(1_000_000 - KEY_REFRESH_MS + 20), []);
  assert.equal(cam.media, 'subscribing', 'media never stopped across the refresh');
});

test('unanswered key requests end in "not authorized", then rare retries', () => {
  const { cam } = onlineCamera();
  let now = 0;
  for (let i = 1; i < KEY_ATTEMPTS; i += 1) {
    now += KEY_RETRY_MS;
    assert.deepEqual(types(cam.plan(now)), ['request-key']);
  }
  now += KEY_RETRY_MS;
  assert.deepEqual(cam.plan(now), []);
  assert.equal(cam.display(), 'no-key');
  assert.equal(STATUS_TEXT[cam.display()], 'Not authorized (no key)');
  assert.deepEqual(cam.plan(now + KEY_RETRY_MS), []);
  assert.deepEqual(types(cam.plan(now + NO_KEY_RETRY_MS)), ['request-key']);
  // Re-approved by an owner: the key arrives and media starts.
  cam.keyAccepted(9, HOUR_SECS * 10, now + NO_KEY_RETRY_MS + 5);
  assert.deepEqual(types(cam.plan(now + NO_KEY_RETRY_MS + 5)), ['subscribe']);
});

test('revocation: frames under an unknown generation, no new key, media stops', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(1, HOUR_SECS * 10, 0);
  cam.plan(0);
  cam.mediaFlowing();
  cam.unknownKeyFrames();
  let now = 1000;
  assert.deepEqual(types(cam.plan(now)), ['request-key']);
  for (let i = 1; i < KEY_ATTEMPTS; i += 1) {
    now += KEY_RETRY_MS;
    assert.deepEqual(types(cam.plan(now)), ['request-key']);
  }
  now += KEY_RETRY_MS;
  const actions = cam.plan(now);
  assert.deepEqual(types(actions), ['forget-generation', 'unsubscribe']);
  assert.equal(cam.display(), 'no-key');
  assert.equal(cam.hasKey, false);
});

test('rotation: the new key answers the request and the old one goes after the overlap', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(1, HOUR_SECS * 10, 0);
  cam.plan(0);
  cam.unknownKeyFrames();
  assert.deepEqual(types(cam.plan(10)), ['request-key']);
  cam.keyAccepted(2, HOUR_SECS * 10, 50);
  assert.deepEqual(cam.plan(60), []);
  assert.deepEqual([...cam.keys.keys()].sort(), [1, 2]);
  const later = cam.plan(50 + OVERLAP_MS);
  assert.deepEqual(later, [{ type: 'forget-generation', generation: 1 }]);
  assert.equal(cam.newestGeneration, 2);
  assert.equal(cam.media, 'subscribing');
});

test('an older envelope arriving late is kept only for the overlap', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(5, HOUR_SECS * 10, 0);
  assert.deepEqual(types(cam.plan(0)), ['subscribe']);
  cam.keyAccepted(4, HOUR_SECS * 10, 10);
  assert.deepEqual(cam.plan(10 + OVERLAP_MS), [{ type: 'forget-generation', generation: 4 }]);
});

test('camera going offline or stopping media unsubscribes; back online resubscribes', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(1, HOUR_SECS * 10, 0);
  assert.deepEqual(types(cam.plan(0)), ['subscribe']);
  cam.status({ online: true, publishing: false });
  assert.deepEqual(types(cam.plan(1)), ['unsubscribe']);
  assert.equal(cam.display(), 'idle');
  cam.status({ online: true, publishing: true });
  assert.deepEqual(types(cam.plan(2)), ['subscribe']);
  cam.disconnected();
  assert.deepEqual(cam.plan(3), [], 'no unsubscribe on a socket that is gone');
  assert.equal(cam.display(), 'offline');
});

test('failed media is retried with growing waits, reset once frames flow', () => {
  const { cam } = onlineCamera();
  cam.keyAccepted(1, HOUR_SECS * 10, 0);
  assert.deepEqual(types(cam.plan(0)), ['subscribe']);
  cam.mediaFailed(100);
  assert.deepEqual(cam.plan(100 + MEDIA_RETRY_MS - 1), []);
  assert.deepEqual(types(cam.plan(100 + MEDIA_RETRY_MS)), ['subscribe']);
  cam.mediaFailed(5000);
  assert.deepEqual(cam.plan(5000 + MEDIA_RETRY_MS), []);
  assert.deepEqual(types(cam.plan(5000 + 2 * MEDIA_RETRY_MS)), ['subscribe']);
  cam.mediaFlowing();
  assert.equal(cam.display(), 'live');
  cam.mediaFailed(20_000);
  assert.deepEqual(types(cam.plan(20_000 + MEDIA_RETRY_MS)), ['subscribe']);
});

test('back-off grows to its ceiling with jitter, never zero, and resets', () => {
  const top = new Backoff({ baseMs: 500, maxMs: 8000, random: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => top.next()), [500, 1000, 2000, 4000, 8000, 8000]);
  top.reset();
  assert.equal(top.next(), 500);
  const bottom = new Backoff({ baseMs: 500, random: () => 0 });
  assert.equal(bottom.next(), 250);
  const half = new Backoff({ baseMs: 1000, maxMs: 30_000, random: () => 0.5 });
  assert.deepEqual([half.next(), half.next(), half.next()], [500, 1000, 2000]);
});
