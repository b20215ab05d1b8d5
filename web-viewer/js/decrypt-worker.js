// The page's handle on the transform worker: hands it the device and pinned cameras,
// forwards key envelopes and awaits their result, attaches receivers with whichever
// insertable-streams API this browser has, and relays the worker's frame counters.

export class DecryptWorker extends EventTarget {
  /** @param {string} api 'script-transform' or 'encoded-streams' (support.js) */
  constructor(api) {
    super();
    this.api = api;
    this.worker = new Worker(new URL('./transform-worker.js', import.meta.url), { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.ready = new Promise((resolve, reject) => {
      this.worker.addEventListener('error', (event) => reject(new Error(`The decrypt worker failed to start: ${event.message ?? 'unknown error'}`)));
      this.worker.addEventListener('message', (event) => {
        const msg = event.data;
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'fatal') reject(new Error(msg.message));
        else this.receive(msg);
      });
    });
  }

  receive(msg) {
    if (msg.type === 'envelope-result') {
      const waiter = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (!waiter) return;
      if (msg.error) waiter.reject(new Error(msg.error));
      else waiter.resolve({ generation: msg.generation, generations: msg.generations });
    } else if (msg.type === 'counters') {
      this.dispatchEvent(new CustomEvent('counters', { detail: msg }));
    } else if (msg.type === 'worker-error') {
      this.dispatchEvent(new CustomEvent('worker-error', { detail: msg }));
    }
  }

  setDevice(bytes) {
    this.worker.postMessage({ type: 'device', bytes });
  }

  addCamera(cameraId, cameraPublic) {
    this.worker.postMessage({ type: 'camera', cameraId, cameraPublic });
  }

  dropCamera(cameraId) {
    this.worker.postMessage({ type: 'dropCamera', cameraId });
  }

  /** Opens an envelope in the worker; resolves with the generation, rejects with a sentence. */
  acceptEnvelope(cameraId, envelope, nowSecs = Date.now() / 1000) {
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'envelope', id, cameraId, envelope, nowSecs });
    });
  }

  forgetGeneration(cameraId, generation) {
    this.worker.postMessage({ type: 'forgetGeneration', cameraId, generation });
  }

  setCodec(cameraId, codec) {
    this.worker.postMessage({ type: 'codec', cameraId, codec });
  }

  /** Peer connection options the chosen API needs. */
  peerConfig() {
    return this.api === 'encoded-streams' ? { encodedInsertableStreams: true } : {};
  }

  /** Routes `receiver`'s encoded frames through the worker before the decoder sees them. */
  attach(cameraId, receiver) {
    if (this.api === 'script-transform') {
      // eslint-disable-next-line no-undef
      receiver.transform = new RTCRtpScriptTransform(this.worker, { cameraId });
      return;
    }
    const { readable, writable } = receiver.createEncodedStreams();
    this.worker.postMessage({ type: 'streams', cameraId, readable, writable }, [readable, writable]);
  }
}
