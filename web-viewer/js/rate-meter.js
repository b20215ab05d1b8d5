// Frames per second and bit rate from successive `inbound-rtp` stats samples
// (RTCPeerConnection.getStats: timestamp in ms, framesDecoded, bytesReceived counters).

export class RateMeter {
  constructor() {
    this.previous = null;
    this.fps = null;
    this.kbps = null;
  }

  /** Feeds one sample; returns the rates over the interval since the previous one. */
  sample({ timestamp, framesDecoded = 0, bytesReceived = 0 }) {
    const prev = this.previous;
    this.previous = { timestamp, framesDecoded, bytesReceived };
    if (!prev || timestamp <= prev.timestamp) return { fps: this.fps, kbps: this.kbps };
    // Counters restart when the peer connection is replaced: a drop means a fresh start.
    if (framesDecoded < prev.framesDecoded || bytesReceived < prev.bytesReceived) {
      return { fps: this.fps, kbps: this.kbps };
    }
    const seconds = (timestamp - prev.timestamp) / 1000;
    this.fps = (framesDecoded - prev.framesDecoded) / seconds;
    this.kbps = ((bytesReceived - prev.bytesReceived) * 8) / 1000 / seconds;
    return { fps: this.fps, kbps: this.kbps };
  }

  reset() {
    this.previous = null;
    this.fps = null;
    this.kbps = null;
  }
}

/** The video `inbound-rtp` entry of a stats report, or null. */
export function inboundVideo(report) {
  for (const entry of report.values()) {
    if (entry.type === 'inbound-rtp' && (entry.kind ?? entry.mediaType) === 'video') return entry;
  }
  return null;
}
