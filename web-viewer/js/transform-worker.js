// The decrypting transform, run in a worker with the WASM module loaded here. It receives
// encoded frames either from the browser (RTCRtpScriptTransform → `rtctransform` event) or
// from the page (createEncodedStreams → transferred streams), decrypts each with the
// camera's Decryptor and enqueues only frames that decrypted. A frame that fails is dropped:
// ciphertext handed to a decoder "decodes" to garbage key frames (DESIGN.md, "Pitfalls").
import init, { Decryptor, ViewerDevice } from '../pkg/wasm_decrypt.js';
import { codecFromMimeType } from './codec.js';

/** How often counters go to the page (only when they moved). */
const REPORT_EVERY_MS = 500;

const ready = init();
let device = null;
/** cameraId → { decryptor, codec, noKeyDrops, unsupported, reported } */
const cameras = new Map();

function camera(cameraId) {
  let entry = cameras.get(cameraId);
  if (!entry) {
    entry = { decryptor: null, codec: null, noKeyDrops: 0, unsupported: 0, reported: '' };
    cameras.set(cameraId, entry);
  }
  return entry;
}

function decryptFrame(entry, frame) {
  if (!entry.decryptor) {
    entry.noKeyDrops += 1;
    return false;
  }
  const fromFrame = codecFromMimeType(frame.getMetadata?.().mimeType);
  const codec = fromFrame ?? entry.codec ?? (frame.type === undefined ? 'opus' : null);
  if (!codec) {
    entry.unsupported += 1;
    return false;
  }
  const plain = entry.decryptor.decrypt(codec, new Uint8Array(frame.data));
  if (!plain) return false;
  frame.data = plain.byteLength === plain.buffer.byteLength ? plain.buffer : plain.slice().buffer;
  return true;
}

function pipe(cameraId, readable, writable) {
  const entry = camera(cameraId);
  const transform = new TransformStream({
    transform(frame, controller) {
      try {
        if (decryptFrame(entry, frame)) controller.enqueue(frame);
      } catch (error) {
        // Only an unknown codec name throws; drop the frame and say why once per report.
        entry.unsupported += 1;
        entry.lastError = String(error?.message ?? error);
      }
    },
  });
  readable.pipeThrough(transform).pipeTo(writable).catch(() => {
    // The peer connection closed; nothing to clean up beyond the streams themselves.
  });
}

const handlers = {
  device({ bytes }) {
    device = ViewerDevice.fromBytes(bytes);
  },
  camera({ cameraId, cameraPublic }) {
    const entry = camera(cameraId);
    entry.decryptor?.free();
    entry.decryptor = new Decryptor(cameraPublic);
  },
  dropCamera({ cameraId }) {
    cameras.get(cameraId)?.decryptor?.free();
    cameras.delete(cameraId);
  },
  envelope({ id, cameraId, envelope, nowSecs }) {
    const entry = cameras.get(cameraId);
    try {
      if (!device || !entry?.decryptor) throw new Error('This camera is not paired on this device.');
      const generation = entry.decryptor.acceptEnvelope(device, envelope, nowSecs);
      self.postMessage({ type: 'envelope-result', id, generation, generations: entry.decryptor.generations() });
    } catch (error) {
      self.postMessage({ type: 'envelope-result', id, error: String(error?.message ?? error) });
    }
  },
  forgetGeneration({ cameraId, generation }) {
    cameras.get(cameraId)?.decryptor?.removeGeneration(generation);
  },
  codec({ cameraId, codec }) {
    camera(cameraId).codec = codec;
  },
  streams({ cameraId, readable, writable }) {
    pipe(cameraId, readable, writable);
  },
};

// Messages are handled strictly in order, and only after the WASM module is ready.
let queue = ready.then(() => self.postMessage({ type: 'ready' }));
queue.catch((error) => self.postMessage({ type: 'fatal', message: `The decryptor failed to load: ${error}` }));

self.onmessage = (event) => {
  queue = queue.then(() => handlers[event.data?.type]?.(event.data)).catch((error) => {
    self.postMessage({ type: 'worker-error', message: String(error?.message ?? error) });
  });
};

// RTCRtpScriptTransform: the browser hands this worker the receiver's streams directly.
self.onrtctransform = (event) => {
  const { readable, writable, options } = event.transformer;
  queue = queue.then(() => pipe(options.cameraId, readable, writable));
};

setInterval(() => {
  for (const [cameraId, entry] of cameras) {
    const d = entry.decryptor;
    const counters = {
      decrypted: d?.decrypted ?? 0,
      duplicates: d?.duplicates ?? 0,
      failed: d?.failed ?? 0,
      unknownKey: (d?.unknownKey ?? 0) + entry.noKeyDrops,
      unsupported: entry.unsupported,
    };
    const signature = JSON.stringify(counters);
    if (signature === entry.reported) continue;
    entry.reported = signature;
    self.postMessage({ type: 'counters', cameraId, ...counters, lastError: d?.lastError ?? entry.lastError ?? null });
  }
}, REPORT_EVERY_MS);
