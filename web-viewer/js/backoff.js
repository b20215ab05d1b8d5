// Reconnect delays: exponential growth with "full jitter" (a random delay between zero and
// the exponential cap), so many viewers that lost the same server do not return in lockstep.

export class Backoff {
  /**
   * @param {{baseMs?: number, maxMs?: number, random?: () => number}} options
   *   `random` is injectable so tests are deterministic.
   */
  constructor({ baseMs = 500, maxMs = 30_000, random = Math.random } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.random = random;
    this.attempt = 0;
  }

  /** The delay before the next attempt; each call grows the ceiling until `maxMs`. */
  next() {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // Never 0: a tight loop against a dead server helps nobody.
    return Math.max(this.baseMs / 2, Math.round(ceiling * this.random()));
  }

  /** After a success the next failure starts small again. */
  reset() {
    this.attempt = 0;
  }
}
