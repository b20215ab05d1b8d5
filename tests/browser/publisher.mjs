// A stand-in camera in a browser page, for the full-chain tests until the camera agent
// runs in them: it signs in with a camera token, publishes an H.264 canvas through the real
// signaling + SFU, protects every frame with the test SFrame sender (key generation from
// the shared fixture), and answers pairing and key requests like the agent would — key
// envelopes only for the fixture's device, silence for everyone else.
import { SFrameSender } from '/__test__/sframe-sender.mjs';

const fromHex = (h) => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const toB64 = (bytes) => btoa(String.fromCharCode(...bytes));
const fromB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const sameBytes = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

export const COLOURS = { red: [255, 0, 0], green: [0, 200, 0], blue: [0, 0, 255] };

function paintedTrack() {
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [320, 240];
  const ctx = canvas.getContext('2d');
  let frame = 0;
  setInterval(() => {
    const css = ([r, g, b]) => `rgb(${r} ${g} ${b})`;
    ctx.fillStyle = css(COLOURS.red);
    ctx.fillRect(0, 0, 160, 120);
    ctx.fillStyle = css(COLOURS.green);
    ctx.fillRect(160, 0, 160, 120);
    ctx.fillStyle = css(COLOURS.blue);
    ctx.fillRect(0, 120, 320, 120);
    ctx.fillStyle = '#fff';
    ctx.fillRect(160 + (frame % 128), 160, 32, 32);
    frame += 1;
  }, 33);
  return canvas.captureStream(30).getVideoTracks()[0];
}

/**
 * @param {{wsUrl: string, token: string, fixture: object, keyHex: string, devicePublicHex: string}} options
 *   devicePublicHex: the only device that gets envelopes (the fixture device's public keys)
 */
export async function startCamera({ wsUrl, token, fixture, keyHex, devicePublicHex, codec = 'h264' }) {
  const state = { framesProtected: 0, keyRequests: 0, envelopesSent: 0, published: false, errors: [] };
  globalThis.cameraState = state;
  const ws = new WebSocket(wsUrl);
  const send = (m) => ws.send(JSON.stringify(m));
  const waiters = [];
  ws.onmessage = (event) => {
    const m = JSON.parse(event.data);
    if (m.type === 'ping') send({ type: 'pong' });
    if (m.type === 'error') state.errors.push(`${m.code}: ${m.message}`);
    if (m.type === 'pair_request') {
      const answer = new Uint8Array([0, ...fromHex(fixture.camera_public_hex), 1]);
      send({ type: 'pair_response', to: m.from, payload: toB64(answer) });
    }
    if (m.type === 'key_request') {
      state.keyRequests += 1;
      if (sameBytes(fromB64(m.payload), fromHex(devicePublicHex))) {
        for (const e of fixture.envelopes) {
          send({ type: 'key_envelope', to: m.from, payload: toB64(fromHex(e.envelope_hex)) });
          state.envelopesSent += 1;
        }
      }
    }
    for (const w of [...waiters]) {
      if (w.type === m.type) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  const next = (type) => new Promise((resolve) => waiters.push({ type, resolve }));
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const welcome = next('welcome');
  send({ type: 'hello', version: 1, token });
  await welcome;

  const sframe = await SFrameSender.create(fromHex(keyHex), fixture.envelopes[0].generation);
  const pc = new RTCPeerConnection({ encodedInsertableStreams: true });
  const tx = pc.addTransceiver(paintedTrack(), { direction: 'sendonly' });
  // Like the agent: H.264 packetization-mode 1, constrained baseline, with RTX.
  tx.setCodecPreferences(RTCRtpSender.getCapabilities('video').codecs.filter((c) => {
    const mime = c.mimeType.toLowerCase();
    if (mime === 'video/rtx') return true;
    if (codec === 'vp8') return mime === 'video/vp8';
    return mime === 'video/h264' && /packetization-mode=1/.test(c.sdpFmtpLine) && /42e01f/.test(c.sdpFmtpLine);
  }));
  const { readable, writable } = tx.sender.createEncodedStreams();
  let ctr = 0;
  readable.pipeThrough(new TransformStream({
    async transform(frame, controller) {
      frame.data = (await sframe.protect(codec, ctr, new Uint8Array(frame.data))).buffer;
      ctr += 1;
      state.framesProtected = ctr;
      controller.enqueue(frame);
    },
  })).pipeTo(writable).catch((e) => state.errors.push(String(e)));
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 1500);
  });
  const answer = Promise.race([next('publish_answer'), next('error')]);
  send({ type: 'publish', sdp: pc.localDescription.sdp });
  const reply = await answer;
  if (reply.type !== 'publish_answer') throw new Error(`publish refused: ${reply.code}: ${reply.message}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
  state.published = true;
  return state;
}
