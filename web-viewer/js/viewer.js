// The live-view controller: one CameraState + tile + media session per granted camera,
// driven by signaling messages, worker counters and a periodic tick that executes the state
// machine's actions (request a key, subscribe, unsubscribe, forget a generation).
import * as protocol from './protocol.js';
import { CameraState } from './camera-state.js';
import { CameraTile } from './tile.js';
import { MediaSession } from './media-session.js';
import { RateMeter } from './rate-meter.js';
import { readStrip, latencyMs, CELL, STRIP_BITS } from './pixel-strip.js';
import { fromBase64, toBase64 } from './payloads.js';
import { peekEnvelope } from './wire.js';

const TICK_MS = 500;
const STATS_MS = 1_000;
const REPORT_MS = 10_000;

export class Viewer {
  /**
   * @param {{wasm: object, device: object, decrypt: import('./decrypt-worker.js').DecryptWorker,
   *          grid: HTMLElement, onMembers: Function, onUnpair: Function}} options
   */
  constructor({ wasm, device, decrypt, grid, onMembers, onUnpair }) {
    Object.assign(this, { wasm, device, decrypt, grid, onMembers, onUnpair });
    this.cameras = new Map();
    this.pins = new Map();
    this.signaling = null;
    decrypt.addEventListener('counters', (e) => this.counters(e.detail));
    setInterval(() => this.tick(), TICK_MS);
    setInterval(() => this.sampleStats(), STATS_MS);
    setInterval(() => this.reportStats(), REPORT_MS);
  }

  /** Cameras paired earlier (from IndexedDB) or just now. */
  pin({ cameraId, cameraPublic, role }) {
    const fingerprint = this.wasm.cameraFingerprint(cameraPublic);
    this.pins.set(cameraId, { cameraId, cameraPublic, role, fingerprint });
    this.decrypt.addCamera(cameraId, cameraPublic);
    const entry = this.cameras.get(cameraId);
    if (entry) {
      entry.state.setPinned(true);
      entry.tile.setPairing({ fingerprint, role });
      this.render(entry);
      this.tick();
    }
    return fingerprint;
  }

  unpin(cameraId) {
    this.pins.delete(cameraId);
    this.decrypt.dropCamera(cameraId);
    const entry = this.cameras.get(cameraId);
    if (!entry) return;
    entry.state = new CameraState(cameraId, { pinned: false });
    this.stopMedia(entry);
    entry.tile.setPairing(null);
    entry.tile.setGeneration(null);
    this.render(entry);
  }

  /** Follows a signaling session; the camera list is whatever its token grants. */
  attach(signaling) {
    this.signaling = signaling;
    signaling.addEventListener('welcome', (e) => this.welcome(e.detail));
    signaling.addEventListener('message', (e) => this.message(e.detail));
    signaling.addEventListener('disconnected', () => {
      for (const entry of this.cameras.values()) {
        entry.state.disconnected();
        this.stopMedia(entry, { notify: false });
        this.render(entry);
      }
    });
  }

  detach() {
    this.signaling = null;
    for (const entry of this.cameras.values()) this.stopMedia(entry, { notify: false });
    this.cameras.clear();
    this.grid.replaceChildren();
  }

  welcome({ cameras }) {
    for (const [cameraId, entry] of this.cameras) {
      if (!cameras.includes(cameraId)) {
        this.stopMedia(entry, { notify: false });
        entry.tile.el.remove();
        this.cameras.delete(cameraId);
      }
    }
    for (const cameraId of cameras) {
      if (this.cameras.has(cameraId)) continue;
      const pin = this.pins.get(cameraId);
      const state = new CameraState(cameraId, { pinned: Boolean(pin) });
      const tile = new CameraTile(cameraId, { onMembers: this.onMembers, onUnpair: this.onUnpair });
      tile.setPairing(pin ? { fingerprint: pin.fingerprint, role: pin.role } : null);
      tile.setGeneration(null);
      const entry = { cameraId, state, tile, media: null, meter: new RateMeter(), counters: null, reported: null, strip: null };
      this.cameras.set(cameraId, entry);
      this.grid.append(tile.el);
      this.render(entry);
    }
  }

  message(msg) {
    const entry = this.cameras.get(msg.camera_id);
    if (!entry) return;
    if (msg.type === 'camera_status') {
      entry.state.status(msg);
      this.tick();
    } else if (msg.type === 'key_envelope') {
      this.envelope(entry, msg.payload);
    }
  }

  async envelope(entry, payload) {
    let envelope;
    let header;
    try {
      envelope = fromBase64(payload);
      header = peekEnvelope(envelope);
      const { generation } = await this.decrypt.acceptEnvelope(entry.cameraId, envelope);
      entry.state.keyAccepted(generation, header.expiresAt, Date.now());
      entry.tile.setError('');
      this.tick();
    } catch (error) {
      entry.tile.setError(`A key from this camera was refused: ${error.message}`);
    }
  }

  counters(c) {
    const entry = this.cameras.get(c.cameraId);
    if (!entry) return;
    const before = entry.counters;
    entry.counters = c;
    if (before && c.unknownKey > before.unknownKey) entry.state.unknownKeyFrames();
    entry.tile.setOverlay({ decrypted: c.decrypted, duplicates: c.duplicates, failed: c.failed });
    entry.tile.el.dataset.decrypted = String(c.decrypted);
    entry.tile.el.dataset.failed = String(c.failed);
  }

  tick() {
    const now = Date.now();
    for (const entry of this.cameras.values()) {
      for (const action of entry.state.plan(now)) this.run(entry, action);
      this.render(entry);
    }
  }

  run(entry, action) {
    const { cameraId } = entry;
    switch (action.type) {
      case 'request-key':
        this.signaling?.send(protocol.keyRequest(cameraId, toBase64(this.device.publicKeys())));
        break;
      case 'forget-generation':
        this.decrypt.forgetGeneration(cameraId, action.generation);
        break;
      case 'subscribe':
        this.startMedia(entry);
        break;
      case 'unsubscribe':
        this.stopMedia(entry);
        break;
      default:
        break;
    }
  }

  startMedia(entry) {
    const media = new MediaSession({ cameraId: entry.cameraId, decrypt: this.decrypt, signaling: this.signaling, video: entry.tile.video });
    entry.media = media;
    entry.meter.reset();
    // Live as soon as a decrypted picture is on screen, not at the next stats poll.
    media.addEventListener('picture', () => {
      if (entry.media !== media) return;
      entry.state.mediaFlowing();
      this.render(entry);
    });
    media.addEventListener('ended', () => {
      if (entry.media !== media) return;
      this.stopMedia(entry);
      entry.state.mediaFailed(Date.now());
    });
    media.start().catch((error) => {
      if (entry.media !== media) return;
      entry.tile.setError(`Video could not start: ${error.message}`);
      this.stopMedia(entry, { notify: false });
      // The state machine subscribes again later, if a key and the camera are still there.
      entry.state.mediaFailed(Date.now());
    });
  }

  stopMedia(entry, { notify = true } = {}) {
    if (!entry.media) return;
    entry.media.close({ notify });
    entry.media = null;
    entry.tile.setOverlay({ fps: null, kbps: null, latency: null });
  }

  async sampleStats() {
    for (const entry of this.cameras.values()) {
      const stats = await entry.media?.videoStats().catch(() => null);
      if (!stats) continue;
      const { fps, kbps } = entry.meter.sample(stats);
      if (stats.framesDecoded > 0) entry.state.mediaFlowing();
      entry.tile.el.dataset.framesDecoded = String(stats.framesDecoded ?? 0);
      const latency = this.latency(entry);
      // A frozen picture has no latency to speak of: its strip only gets older.
      entry.tile.setOverlay({ fps, kbps, latency: fps === 0 ? null : latency });
      this.render(entry);
    }
  }

  /** Reads the testsrc strip from the top rows of the current picture, if it has one. */
  latency(entry) {
    const video = entry.tile.video;
    const width = video.videoWidth;
    if (!width || video.readyState < 2) return null;
    const rows = Math.ceil(STRIP_BITS / Math.floor(width / CELL)) * CELL;
    entry.strip ??= document.createElement('canvas');
    const canvas = entry.strip;
    [canvas.width, canvas.height] = [width, rows];
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, width, rows, 0, 0, width, rows);
    const strip = readStrip(ctx.getImageData(0, 0, width, rows).data, width, rows);
    entry.tile.el.dataset.stripFrame = strip ? String(strip.frame) : '';
    return latencyMs(strip, Date.now());
  }

  /** Counts since the last report, for the server's decrypt-failure metrics (counts only). */
  reportStats() {
    for (const entry of this.cameras.values()) {
      const c = entry.counters;
      if (!c || !this.signaling?.ready) continue;
      const last = entry.reported ?? { decrypted: 0, duplicates: 0, failed: 0 };
      const delta = {
        decrypted: Math.max(0, c.decrypted - last.decrypted),
        duplicate: Math.max(0, c.duplicates - last.duplicates),
        failed: Math.max(0, c.failed - last.failed),
      };
      if (delta.decrypted + delta.duplicate + delta.failed === 0) continue;
      if (this.signaling.send(protocol.statsReport(entry.cameraId, delta))) entry.reported = c;
    }
  }

  render(entry) {
    entry.tile.setStatus(entry.state.display(), { online: entry.state.online });
    entry.tile.setGeneration(entry.state.newestGeneration);
  }
}
