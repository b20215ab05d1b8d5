// The WebSocket session with the signaling server: `hello` with the token as the first
// message (never in the URL), automatic reconnect with jittered back-off, keep-alive, and
// awaiting a specific answer. Events: 'welcome', 'message', 'disconnected', 'fatal'.
import * as protocol from './protocol.js';
import { Backoff } from './backoff.js';

/** Send a ping this often; the server's idle timeout is longer. */
export const PING_EVERY_MS = 20_000;
/** Consider the socket dead when nothing arrived for this long. */
export const SILENCE_LIMIT_MS = 45_000;

export class SignalingClient extends EventTarget {
  /**
   * @param {{url: string, token: string, WebSocketImpl?: Function, backoff?: Backoff,
   *          setTimer?: Function, clearTimer?: Function, now?: () => number}} options
   *   the socket class and timers are injectable so tests drive reconnects without waiting
   */
  constructor({ url, token, WebSocketImpl = globalThis.WebSocket, backoff = new Backoff(),
    setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id), now = () => Date.now() }) {
    super();
    this.url = url;
    this.token = token;
    this.WebSocketImpl = WebSocketImpl;
    this.backoff = backoff;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.now = now;
    this.ws = null;
    this.welcome = null;
    this.stopped = false;
    this.reconnectTimer = null;
    this.keepaliveTimer = null;
    this.lastHeard = 0;
    this.attempts = 0;
  }

  get ready() {
    return this.welcome !== null && this.ws !== null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Ends the session for good (sign-out, page unload). */
  stop() {
    this.stopped = true;
    this.clearTimer(this.reconnectTimer);
    this.clearTimer(this.keepaliveTimer);
    const ws = this.ws;
    this.ws = null;
    this.welcome = null;
    if (ws) ws.close(1000, 'bye');
  }

  connect() {
    this.attempts += 1;
    const ws = new this.WebSocketImpl(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = this.now();
      ws.send(protocol.encode(protocol.hello(this.token)));
    };
    ws.onmessage = (event) => this.receive(ws, event.data);
    ws.onclose = (event) => this.closed(ws, event);
    ws.onerror = () => {
      // A 'close' event always follows; reconnecting happens there.
    };
  }

  receive(ws, data) {
    if (ws !== this.ws) return;
    this.lastHeard = this.now();
    let message;
    try {
      message = protocol.parseServerMessage(data);
    } catch (error) {
      // A newer server may send types this page does not know: ignore, keep the session.
      this.dispatchEvent(new CustomEvent('protocol-error', { detail: error }));
      return;
    }
    if (message.type === 'ping') {
      ws.send(protocol.encode(protocol.pong()));
      return;
    }
    if (message.type === 'welcome') {
      this.welcome = message;
      this.backoff.reset();
      this.scheduleKeepalive();
      this.dispatchEvent(new CustomEvent('welcome', { detail: message }));
      return;
    }
    if (protocol.isFatalError(message)) {
      this.stopped = true;
      this.dispatchEvent(new CustomEvent('fatal', { detail: message }));
    }
    this.dispatchEvent(new CustomEvent('message', { detail: message }));
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.welcome = null;
    this.clearTimer(this.keepaliveTimer);
    this.dispatchEvent(new CustomEvent('disconnected', { detail: { code: event?.code } }));
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.dispatchEvent(new CustomEvent('reconnecting', { detail: { delayMs: delay } }));
    this.reconnectTimer = this.setTimer(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  scheduleKeepalive() {
    this.clearTimer(this.keepaliveTimer);
    this.keepaliveTimer = this.setTimer(() => {
      if (!this.ws) return;
      if (this.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        // Half-open socket: close it ourselves so the reconnect path runs.
        this.ws.close(4000, 'silent');
        this.closed(this.ws, { code: 4000 });
        return;
      }
      this.send(protocol.ping());
      this.scheduleKeepalive();
    }, PING_EVERY_MS);
  }

  /** Sends when the session is up; returns false (message dropped) otherwise. */
  send(message) {
    if (!this.ready) return false;
    this.ws.send(protocol.encode(message));
    return true;
  }

  /**
   * Resolves with the first message for which `match` returns 'accept', rejects on
   * 'reject' (with the message) or after `timeoutMs`, or when the session drops.
   */
  waitFor(match, timeoutMs) {
    return new Promise((resolve, reject) => {
      const finish = (fn, value) => {
        this.clearTimer(timer);
        this.removeEventListener('message', onMessage);
        this.removeEventListener('disconnected', onGone);
        fn(value);
      };
      const onMessage = (event) => {
        const verdict = match(event.detail);
        if (verdict === 'accept') finish(resolve, event.detail);
        else if (verdict === 'reject') finish(reject, Object.assign(new Error(event.detail.message ?? 'refused'), { reply: event.detail }));
      };
      const onGone = () => finish(reject, new Error('The connection to the server dropped; try again once it is back.'));
      const timer = this.setTimer(() => finish(reject, new Error('No answer in time; is the camera online?')), timeoutMs);
      this.addEventListener('message', onMessage);
      this.addEventListener('disconnected', onGone);
    });
  }
}

/** ws:// or wss:// to /ws on the server that served this page. */
export function socketUrl(location) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}
