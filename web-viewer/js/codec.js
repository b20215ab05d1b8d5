// The codec name the WASM decryptor expects ("h264", "vp8", "opus") from what the browser
// says: an encoded frame's getMetadata().mimeType, or the negotiated codec's mimeType.

const BY_MIME = Object.freeze({
  'video/h264': 'h264',
  'video/vp8': 'vp8',
  'audio/opus': 'opus',
});

/** @returns {string|null} null for codecs the camera never sends (the frame is dropped). */
export function codecFromMimeType(mimeType) {
  if (typeof mimeType !== 'string') return null;
  return BY_MIME[mimeType.trim().toLowerCase()] ?? null;
}

/**
 * Orders receive codecs so the ones cameras send come first: H.264 packetization-mode 1,
 * then VP8. Retransmission and FEC entries are kept (RTX is what makes NACK work).
 */
export function preferredReceiveCodecs(capabilities) {
  const rank = (c) => {
    const mime = c.mimeType.toLowerCase();
    const fmtp = c.sdpFmtpLine ?? '';
    if (mime === 'video/h264' && fmtp.includes('packetization-mode=1')) {
      return fmtp.includes('profile-level-id=42e01f') ? 0 : 1;
    }
    if (mime === 'video/h264') return 2;
    if (mime === 'video/vp8') return 3;
    if (['video/rtx', 'video/red', 'video/ulpfec', 'video/flexfec-03'].includes(mime)) return 4;
    return null;
  };
  return capabilities.codecs
    .map((codec, index) => ({ codec, index, rank: rank(codec) }))
    .filter((c) => c.rank !== null)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((c) => c.codec);
}
