// One camera's lifecycle in the viewer, as a pure state machine: events in, actions out,
// time passed in (no timers, no DOM), so every rule is unit-testable.
//
// The rule that matters most (DESIGN.md, "Pitfalls"): a viewer subscribes to media only
// while it holds a key, and unsubscribes as soon as it loses it. A keyless subscriber makes
// the browser send a key-frame request every few hundred ms, a storm every viewer pays for.

/** Resend `key_request` when nothing came back for this long. */
export const KEY_RETRY_MS = 3_000;
/** Unanswered requests before the camera is shown as "not authorized (no key)". */
export const KEY_ATTEMPTS = 3;
/** Once refused, ask again this rarely (an owner may re-approve the device). */
export const NO_KEY_RETRY_MS = 30_000;
/** How long an older generation stays after a newer one arrived (rotation overlap). */
export const OVERLAP_MS = 15_000;
/** Ask for a fresh key this long before the newest one expires. */
export const KEY_REFRESH_MS = 60_000;
/** First and longest wait before subscribing again after media failed to start or died. */
export const MEDIA_RETRY_MS = 2_000;
export const MEDIA_RETRY_MAX_MS = 30_000;

export class CameraState {
  constructor(cameraId, { pinned = false } = {}) {
    this.cameraId = cameraId;
    this.pinned = pinned;
    this.online = false;
    this.publishing = false;
    /** generation → {expiresAtMs, supersededAtMs|null} */
    this.keys = new Map();
    /** 'none' | 'subscribing' | 'live' */
    this.media = 'none';
    this.keyRequestAt = null;
    this.keyAttempts = 0;
    this.refused = false;
    /** Frames arrived under an unknown generation while keys were held (a rotation). */
    this.needKey = false;
    this.mediaFailures = 0;
    this.mediaRetryAt = 0;
  }

  get hasKey() {
    return this.keys.size > 0;
  }

  get newestGeneration() {
    return this.hasKey ? Math.max(...this.keys.keys()) : null;
  }

  setPinned(pinned) {
    this.pinned = pinned;
  }

  status({ online, publishing }) {
    this.online = online;
    this.publishing = online && publishing;
    if (!online) {
      // Requests sent to an absent camera were never unanswered by it: start counting again.
      this.keyRequestAt = null;
      this.keyAttempts = 0;
    }
  }

  /** The signaling session ended: nothing of the camera's session state survives. */
  disconnected() {
    this.status({ online: false, publishing: false });
    // The socket is gone, so there is nobody to send `unsubscribe` to: the caller closed
    // the peer connection itself.
    this.media = 'none';
  }

  /** An envelope was opened; older generations get the overlap period, then go. */
  keyAccepted(generation, expiresAtSecs, nowMs) {
    for (const [g, key] of this.keys) {
      if (g < generation && key.supersededAtMs === null) key.supersededAtMs = nowMs;
    }
    const newest = this.newestGeneration;
    const superseded = newest !== null && newest > generation ? nowMs : null;
    this.keys.set(generation, { expiresAtMs: expiresAtSecs * 1000, supersededAtMs: superseded });
    this.keyRequestAt = null;
    this.keyAttempts = 0;
    this.refused = false;
    this.needKey = false;
  }

  keyRequested(nowMs) {
    this.keyRequestAt = nowMs;
    this.keyAttempts += 1;
  }

  /**
   * Frames arrived under a generation this device does not hold: the camera rotated. Ask
   * for the new key now; if it never comes, `plan` declares the key lost.
   */
  unknownKeyFrames() {
    if (this.hasKey && !this.refused) this.needKey = true;
  }

  mediaFlowing() {
    if (this.media === 'subscribing') this.media = 'live';
    this.mediaFailures = 0;
  }

  /** Media failed to start or died: try again later, waiting longer each time. */
  mediaFailed(nowMs) {
    this.media = 'none';
    this.mediaRetryAt = nowMs + Math.min(MEDIA_RETRY_MAX_MS, MEDIA_RETRY_MS * 2 ** this.mediaFailures);
    this.mediaFailures = Math.min(this.mediaFailures + 1, 10);
  }

  /** The actions due at `nowMs`, applying the state changes they imply. */
  plan(nowMs) {
    const actions = [];
    for (const [g, key] of this.keys) {
      const overlapOver = key.supersededAtMs !== null && nowMs - key.supersededAtMs >= OVERLAP_MS;
      if (nowMs >= key.expiresAtMs || overlapOver) {
        this.keys.delete(g);
        actions.push({ type: 'forget-generation', generation: g });
      }
    }
    if (!this.pinned || !this.online) return this.withMedia(actions, nowMs);

    const waited = this.keyRequestAt === null ? Infinity : nowMs - this.keyRequestAt;
    const retryAfter = this.refused ? NO_KEY_RETRY_MS : KEY_RETRY_MS;
    const newest = this.hasKey ? this.keys.get(this.newestGeneration) : null;
    const expiring = newest !== null && newest.expiresAtMs - nowMs <= KEY_REFRESH_MS;
    if (this.needKey || !this.hasKey || expiring) {
      if (this.keyAttempts >= KEY_ATTEMPTS && waited >= KEY_RETRY_MS && !this.refused) {
        // Nobody answered: this device is not (or no longer) a member.
        this.refused = true;
        this.needKey = false;
        for (const g of this.keys.keys()) actions.push({ type: 'forget-generation', generation: g });
        this.keys.clear();
      } else if (waited >= retryAfter) {
        this.keyRequested(nowMs);
        actions.push({ type: 'request-key' });
      }
    }
    return this.withMedia(actions, nowMs);
  }

  withMedia(actions, nowMs) {
    const want = this.pinned && this.publishing && this.hasKey && !this.refused;
    if (want && this.media === 'none' && nowMs >= this.mediaRetryAt) {
      this.media = 'subscribing';
      actions.push({ type: 'subscribe' });
    } else if (!want && this.media !== 'none') {
      this.media = 'none';
      actions.push({ type: 'unsubscribe' });
    }
    return actions;
  }

  /** What the tile shows: one of the STATUS_TEXT keys. */
  display() {
    if (!this.pinned) return 'unpaired';
    if (!this.online) return 'offline';
    if (this.refused) return 'no-key';
    if (!this.hasKey) return 'waiting-key';
    if (!this.publishing) return 'idle';
    return this.media === 'live' ? 'live' : 'connecting';
  }
}

export const STATUS_TEXT = Object.freeze({
  unpaired: 'Not paired — enter this camera’s pairing code',
  offline: 'Offline',
  'no-key': 'Not authorized (no key)',
  'waiting-key': 'Waiting for the camera’s key…',
  idle: 'Online, not streaming',
  connecting: 'Connecting…',
  live: 'Live',
});
