// Browser-side half of the loopback test: a canvas with flat colour regions is encoded as
// VP8 or H.264 by one peer connection, each frame SFrame-protected by the test sender (playing the
// camera), and received by a second peer connection whose frames go through the viewer's
// real transform worker (DecryptWorker.attach with the chosen API). Nothing here is the
// product: it exercises the product's worker, WASM and attach code in a real WebRTC stack.
import { DecryptWorker } from '/js/decrypt-worker.js';
import { SFrameSender } from '/__test__/sframe-sender.mjs';
import { readStrip, CELL, MAGIC, STRIP_BITS } from '/js/pixel-strip.js';

export const COLOURS = { red: [255, 0, 0], green: [0, 200, 0], blue: [0, 0, 255] };
const W = 320;
const H = 240;

const fromHex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const css = ([r, g, b]) => `rgb(${r} ${g} ${b})`;

/** The camera agent's testsrc strip (pixel-strip.js): magic, frame counter, capture µs. */
function paintStrip(ctx, frame) {
  const bits = (BigInt(MAGIC) << 96n) | (BigInt(frame) << 64n) | BigInt(Math.round(Date.now() * 1000));
  const perRow = Math.floor(W / CELL);
  ctx.fillStyle = 'rgb(16 16 16)';
  ctx.fillRect(0, 0, W, Math.ceil(STRIP_BITS / perRow) * CELL);
  ctx.fillStyle = 'rgb(235 235 235)';
  for (let i = 0; i < STRIP_BITS; i += 1) {
    if ((bits >> BigInt(STRIP_BITS - 1 - i)) & 1n) ctx.fillRect((i % perRow) * CELL, Math.floor(i / perRow) * CELL, CELL, CELL);
  }
}

function paintedCanvas() {
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [W, H];
  const ctx = canvas.getContext('2d');
  let frame = 0;
  const paint = () => {
    ctx.fillStyle = css(COLOURS.red);
    ctx.fillRect(0, 0, W / 2, H / 2);
    ctx.fillStyle = css(COLOURS.green);
    ctx.fillRect(W / 2, 0, W / 2, H / 2);
    ctx.fillStyle = css(COLOURS.blue);
    ctx.fillRect(0, H / 2, W, H / 2);
    // A moving box in the lower right keeps the encoder producing frames.
    ctx.fillStyle = '#fff';
    ctx.fillRect(W / 2 + (frame % (W / 2 - 32)), H / 2 + 40, 32, 32);
    paintStrip(ctx, frame);
    frame += 1;
  };
  paint();
  const timer = setInterval(paint, 33);
  return { canvas, stop: () => clearInterval(timer) };
}

/** Restricts negotiation to `codec` (H.264: packetization-mode 1, constrained baseline) + RTX. */
function onlyCodec(transceiver, codec, capabilities) {
  const wanted = (c) => {
    const mime = c.mimeType.toLowerCase();
    if (mime === 'video/rtx') return true;
    if (codec === 'vp8') return mime === 'video/vp8';
    return mime === 'video/h264' && /packetization-mode=1/.test(c.sdpFmtpLine) && /profile-level-id=42e01f/.test(c.sdpFmtpLine);
  };
  transceiver.setCodecPreferences(capabilities.codecs.filter(wanted));
}

/** Samples the centre of each colour region from the playing video. */
function samplePixels(video) {
  const { videoWidth: w, videoHeight: h } = video;
  if (!w || !h) return null;
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [w, h];
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  const at = (x, y) => [...ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data.slice(0, 3)];
  return {
    red: at(w / 4, h / 4),
    green: at((3 * w) / 4, h / 4),
    blue: at(w / 4, (3 * h) / 4),
    strip: readStrip(ctx.getImageData(0, 0, w, h).data, w, h),
    sampledAtMs: Date.now(),
  };
}

/**
 * @param {{api: string, fixture: object, keyHex: string, withKey: boolean, frames: number,
 *          timeoutMs: number}} options
 */
export async function runLoopback({ api, codec = 'vp8', fixture, keyHex, withKey, frames, timeoutMs }) {
  const dw = new DecryptWorker(api);
  let counters = null;
  dw.addEventListener('counters', (e) => { counters = e.detail; });
  await dw.ready;
  dw.setDevice(fromHex(fixture.viewer_device_hex));
  dw.addCamera('loop', fromHex(fixture.camera_public_hex));
  const generation = fixture.envelopes[0].generation;
  if (withKey) await dw.acceptEnvelope('loop', fromHex(fixture.envelopes[0].envelope_hex), fixture.now);
  dw.setCodec('loop', codec);

  const sframe = await SFrameSender.create(fromHex(keyHex), generation);
  const source = paintedCanvas();
  const track = source.canvas.captureStream(30).getVideoTracks()[0];
  const sender = new RTCPeerConnection({ encodedInsertableStreams: true });
  const receiver = new RTCPeerConnection(dw.peerConfig());
  sender.onicecandidate = (e) => e.candidate && receiver.addIceCandidate(e.candidate);
  receiver.onicecandidate = (e) => e.candidate && sender.addIceCandidate(e.candidate);

  // The viewer offers, as in the product (media-session.js): a recvonly transceiver with the
  // decrypt transform attached before any frame can exist. (An answerer must not do this:
  // JSEP gives a remote offer's m-line a new transceiver, not one made by addTransceiver.)
  const rx = receiver.addTransceiver('video', { direction: 'recvonly' });
  onlyCodec(rx, codec, RTCRtpReceiver.getCapabilities('video'));
  dw.attach('loop', rx.receiver);
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  receiver.ontrack = (e) => {
    video.srcObject = new MediaStream([e.track]);
    video.play().catch(() => {});
  };
  await receiver.setLocalDescription(await receiver.createOffer());

  // The stand-in camera answers, sending the canvas and protecting every frame.
  await sender.setRemoteDescription(receiver.localDescription);
  const [tx] = sender.getTransceivers();
  await tx.sender.replaceTrack(track);
  tx.direction = 'sendonly';
  onlyCodec(tx, codec, RTCRtpSender.getCapabilities('video'));
  let ctr = 0;
  const { readable, writable } = tx.sender.createEncodedStreams();
  readable.pipeThrough(new TransformStream({
    async transform(frame, controller) {
      frame.data = (await sframe.protect(codec, ctr, new Uint8Array(frame.data))).buffer;
      ctr += 1;
      controller.enqueue(frame);
    },
  })).pipeTo(writable).catch(() => {});
  await sender.setLocalDescription(await sender.createAnswer());
  await receiver.setRemoteDescription(sender.localDescription);

  // Bounded wait: enough frames decoded (paired), or the deadline (unpaired).
  const deadline = performance.now() + timeoutMs;
  let inbound = null;
  for (;;) {
    const report = await receiver.getStats();
    inbound = [...report.values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video') ?? null;
    if ((inbound?.framesDecoded ?? 0) >= frames && video.videoWidth > 0) break;
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const pixels = samplePixels(video);
  // Counters are posted every 500 ms: wait (bounded) for a report covering every frame the
  // decoder saw, so the comparison is not against a stale snapshot.
  const decoded = inbound?.framesDecoded ?? 0;
  const countersDeadline = performance.now() + 3000;
  while ((!counters || counters.decrypted < decoded) && performance.now() < countersDeadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const result = {
    codec: inbound?.codecId ? (await receiver.getStats()).get(inbound.codecId)?.mimeType : null,
    connection: receiver.connectionState,
    packetsReceived: inbound?.packetsReceived ?? 0,
    framesDecoded: inbound?.framesDecoded ?? 0,
    framesSent: ctr,
    videoWidth: video.videoWidth,
    pixels,
    counters,
  };
  source.stop();
  sender.close();
  receiver.close();
  video.remove();
  return result;
}
