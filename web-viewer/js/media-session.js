// One camera's receive-only peer connection to the SFU: offer with the transform attached
// before any frame can flow, `subscribe` → `subscribe_answer`, the negotiated codec told to
// the worker, and stats for the overlay. Only created while a key is held (camera-state.js).
import * as protocol from './protocol.js';
import { codecFromMimeType, preferredReceiveCodecs } from './codec.js';
import { inboundVideo } from './rate-meter.js';
import { onFirstFrame } from './first-frame.js';

const ANSWER_TIMEOUT_MS = 10_000;
const SUBSCRIBE_ERRORS = new Set(['camera_offline', 'media_error', 'forbidden', 'rate_limited', 'internal']);

export class MediaSession extends EventTarget {
  /**
   * @param {{cameraId: string, decrypt: import('./decrypt-worker.js').DecryptWorker,
   *          signaling: import('./signaling.js').SignalingClient, video: HTMLVideoElement}} options
   */
  constructor({ cameraId, decrypt, signaling, video }) {
    super();
    this.cameraId = cameraId;
    this.decrypt = decrypt;
    this.signaling = signaling;
    this.video = video;
    this.pc = null;
    this.closed = false;
    /** Stops waiting for the current source's first picture (see first-frame.js). */
    this.cancelFirstFrame = null;
  }

  async start() {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', ...this.decrypt.peerConfig() });
    this.pc = pc;
    const transceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    const capabilities = globalThis.RTCRtpReceiver?.getCapabilities?.('video');
    if (capabilities && transceiver.setCodecPreferences) {
      transceiver.setCodecPreferences(preferredReceiveCodecs(capabilities));
    }
    // Attached before the offer exists, so no frame can ever reach the decoder unseen. This
    // page is the offerer, so this transceiver is the one the answer's m-line uses (JSEP);
    // an answerer's pre-made transceiver would not be, and its transform would be bypassed.
    this.decrypt.attach(this.cameraId, transceiver.receiver);
    pc.addEventListener('track', (event) => {
      this.video.srcObject = new MediaStream([event.track]);
      this.cancelFirstFrame?.();
      this.cancelFirstFrame = onFirstFrame(this.video, () => {
        if (!this.closed) this.dispatchEvent(new Event('picture'));
      });
      // `autoplay` alone leaves the element paused after its source was replaced (a
      // resubscribe); muted video may always play, so ask explicitly.
      this.video.play().catch(() => {});
    });
    pc.addEventListener('connectionstatechange', () => {
      if (['failed', 'closed'].includes(pc.connectionState) && !this.closed) {
        this.dispatchEvent(new CustomEvent('ended', { detail: { state: pc.connectionState } }));
      }
    });

    // Sent at once, without waiting for ICE gathering (which took 130 ms here, and can
    // stall on hosts with odd interfaces): the SFU is ICE-lite, so it never checks our
    // candidates; it learns our address from the checks this browser sends it.
    await pc.setLocalDescription(await pc.createOffer());
    const answer = this.signaling.waitFor((m) => {
      if (m.type === 'subscribe_answer' && m.camera_id === this.cameraId) return 'accept';
      if (m.type === 'error' && SUBSCRIBE_ERRORS.has(m.code)) return 'reject';
      return null;
    }, ANSWER_TIMEOUT_MS);
    if (!this.signaling.send(protocol.subscribe(this.cameraId, pc.localDescription.sdp))) {
      answer.catch(() => {});
      throw new Error('Not connected to the server.');
    }
    const { sdp } = await answer;
    if (this.closed) return;
    await pc.setRemoteDescription({ type: 'answer', sdp });
    // Fallback for browsers whose frames carry no mimeType: the codec the SFU answered with.
    const negotiated = transceiver.receiver.getParameters().codecs?.[0]?.mimeType;
    const codec = codecFromMimeType(negotiated);
    if (codec) this.decrypt.setCodec(this.cameraId, codec);
  }

  /** The video inbound-rtp stats entry (framesDecoded, bytesReceived, ...) or null. */
  async videoStats() {
    if (!this.pc || this.closed) return null;
    return inboundVideo(await this.pc.getStats());
  }

  /** Tears down media and tells the server, so it stops forwarding to us. */
  close({ notify = true } = {}) {
    if (this.closed) return;
    this.closed = true;
    this.cancelFirstFrame?.();
    if (notify) this.signaling.send(protocol.unsubscribe(this.cameraId));
    this.pc?.close();
    this.video.srcObject = null;
  }
}
