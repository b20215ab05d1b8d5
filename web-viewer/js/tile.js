// One camera's tile: the video, the end-to-end badge (camera fingerprint, key generation),
// presence, a stats overlay, and the fullscreen / snapshot / members buttons.
import { h } from './dom.js';
import { STATUS_TEXT } from './camera-state.js';

const SVG = 'http://www.w3.org/2000/svg';

/** A padlock drawn in SVG (emoji fonts are missing on many systems). */
function lockIcon() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', 'lock');
  svg.setAttribute('aria-hidden', 'true');
  const body = document.createElementNS(SVG, 'rect');
  for (const [k, v] of Object.entries({ x: 3, y: 7, width: 10, height: 8, rx: 1.5, fill: 'currentColor' })) body.setAttribute(k, v);
  const shackle = document.createElementNS(SVG, 'path');
  for (const [k, v] of Object.entries({ d: 'M5 7V5a3 3 0 0 1 6 0v2', fill: 'none', stroke: 'currentColor', 'stroke-width': 2 })) shackle.setAttribute(k, v);
  svg.append(body, shackle);
  return svg;
}

const fmt = (value, digits = 0) => (value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits));

export class CameraTile {
  /**
   * @param {string} cameraId
   * @param {{onMembers: Function, onUnpair: Function}} actions
   */
  constructor(cameraId, { onMembers, onUnpair }) {
    this.cameraId = cameraId;
    const titleId = `tile-title-${cameraId}`;
    this.video = h('video', { muted: true, playsinline: true, autoplay: true, 'aria-label': `Live video of ${cameraId}` });
    this.video.muted = true;
    this.veil = h('div', { class: 'veil', role: 'status', 'aria-live': 'polite' });
    this.stats = {};
    const stat = (key, label) => {
      this.stats[key] = h('dd', { text: '–', dataset: { stat: key } });
      return [h('dt', { text: label }), this.stats[key]];
    };
    this.overlay = h('dl', { class: 'overlay', 'aria-label': 'Stream statistics' },
      ...stat('fps', 'fps'), ...stat('kbps', 'kbit/s'), ...stat('decrypted', 'decrypted'),
      ...stat('duplicates', 'duplicate'), ...stat('failed', 'failed'), ...stat('latency', 'latency ms'));
    this.stage = h('div', { class: 'stage' }, this.video, this.veil, this.overlay);
    this.presence = h('span', { class: 'presence', text: 'Offline' });
    this.badge = h('p', { class: 'badge', hidden: true },
      lockIcon(),
      h('span', { text: 'End-to-end encrypted · ' }),
      (this.generation = h('span', { class: 'generation', text: 'no key held' })));
    this.fingerprint = h('p', { class: 'fingerprint', hidden: true });
    this.error = h('p', { class: 'error', role: 'alert' });
    this.snapshotLink = h('a', { class: 'snapshot-link', hidden: true });
    this.membersButton = h('button', { type: 'button', hidden: true, onclick: () => onMembers(cameraId), text: 'Members' });
    this.el = h('article', { class: 'tile', 'aria-labelledby': titleId, dataset: { cameraId, status: 'offline' } },
      h('header', {}, h('h3', { id: titleId, text: cameraId }), this.presence),
      this.stage,
      this.badge,
      this.fingerprint,
      h('div', { class: 'actions' },
        (this.fullscreenButton = h('button', { type: 'button', onclick: () => this.fullscreen(), text: 'Fullscreen' })),
        h('button', { type: 'button', onclick: () => this.snapshot(), text: 'Snapshot' }),
        h('button', { type: 'button', 'aria-pressed': 'true', onclick: (e) => this.toggleOverlay(e.currentTarget), text: 'Stats' }),
        this.membersButton,
        (this.unpairButton = h('button', { type: 'button', class: 'quiet', hidden: true, onclick: () => onUnpair(cameraId), text: 'Unpair' }))),
      this.snapshotLink,
      this.error);
    this.el.addEventListener('fullscreenchange', () => this.fullscreenChanged());
  }

  /** Keeps the button's name true to what it will do (entered by button, left by Esc too). */
  fullscreenChanged() {
    const active = document.fullscreenElement === this.el;
    this.fullscreenButton.textContent = active ? 'Exit fullscreen' : 'Fullscreen';
  }

  /** @param {string} display a camera-state.js display() value */
  setStatus(display, { online }) {
    this.el.dataset.status = display;
    this.presence.textContent = online ? 'Online' : 'Offline';
    this.presence.dataset.online = String(online);
    this.veil.textContent = display === 'live' ? '' : STATUS_TEXT[display];
    this.veil.hidden = display === 'live';
  }

  /** @param {{fingerprint: string, role: string} | null} pairing */
  setPairing(pairing) {
    this.fingerprint.hidden = !pairing;
    this.badge.hidden = !pairing;
    this.unpairButton.hidden = !pairing;
    this.membersButton.hidden = pairing?.role !== 'owner';
    this.fingerprint.textContent = pairing ? `Camera fingerprint: ${pairing.fingerprint}` : '';
    this.el.dataset.role = pairing?.role ?? '';
  }

  setGeneration(generation) {
    this.generation.textContent = generation === null ? 'no key held' : `key generation ${generation}`;
    this.badge.dataset.keyed = String(generation !== null);
    this.el.dataset.generation = generation === null ? '' : String(generation);
  }

  setOverlay(values) {
    const digits = { fps: 1, kbps: 0, latency: 0 };
    for (const [key, value] of Object.entries(values)) {
      if (this.stats[key]) this.stats[key].textContent = fmt(value, digits[key] ?? 0);
    }
  }

  setError(text) {
    this.error.textContent = text ?? '';
  }

  toggleOverlay(button) {
    const visible = this.overlay.hidden;
    this.overlay.hidden = !visible;
    button.setAttribute('aria-pressed', String(visible));
  }

  /** The whole tile goes fullscreen, so the badge and the buttons (exit included) stay. */
  fullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (this.el.requestFullscreen) {
      this.el.requestFullscreen().catch((e) => this.setError(`Fullscreen refused: ${e.message}`));
    } else {
      // iPhone Safari has no element fullscreen, only the video player's own.
      this.video.webkitEnterFullscreen?.();
    }
  }

  /** Saves the current picture as a PNG (decrypted pixels never leave this device otherwise). */
  snapshot() {
    const { videoWidth: w, videoHeight: h2 } = this.video;
    if (!w || !h2) {
      this.setError('No picture to save yet.');
      return;
    }
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h2;
    canvas.getContext('2d').drawImage(this.video, 0, 0, w, h2);
    canvas.toBlob((blob) => {
      if (!blob) return;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      if (this.snapshotLink.href) URL.revokeObjectURL(this.snapshotLink.href);
      this.snapshotLink.href = URL.createObjectURL(blob);
      this.snapshotLink.download = `sealcam-${this.cameraId}-${stamp}.png`;
      this.snapshotLink.textContent = `Download snapshot (${this.snapshotLink.download})`;
      this.snapshotLink.hidden = false;
      this.snapshotLink.click();
    }, 'image/png');
  }
}
