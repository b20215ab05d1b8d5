// Persistent state in IndexedDB: this device's exported keys and the cameras it pinned.
// IndexedDB (not localStorage) because it stores bytes natively and is not sent anywhere;
// the device export is a secret and never leaves this origin's storage.

const DB_NAME = 'sealcam';
const DB_VERSION = 1;
const DEVICE = 'device';
const CAMERAS = 'cameras';
const SELF = 'self';

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export class Store {
  static async open(factory = globalThis.indexedDB) {
    const request = factory.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(DEVICE)) db.createObjectStore(DEVICE);
      if (!db.objectStoreNames.contains(CAMERAS)) db.createObjectStore(CAMERAS, { keyPath: 'cameraId' });
    };
    return new Store(await promised(request));
  }

  constructor(db) {
    this.db = db;
  }

  async run(storeName, mode, action) {
    const tx = this.db.transaction(storeName, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error);
      tx.onerror = () => reject(tx.error);
    });
    const result = await promised(action(tx.objectStore(storeName)));
    await done;
    return result;
  }

  /** @returns {Promise<Uint8Array|null>} the device export, or null on a first visit */
  async loadDevice() {
    const record = await this.run(DEVICE, 'readonly', (s) => s.get(SELF));
    return record ? new Uint8Array(record.bytes) : null;
  }

  saveDevice(bytes) {
    return this.run(DEVICE, 'readwrite', (s) => s.put({ bytes, createdAt: Date.now() }, SELF));
  }

  /** @returns {Promise<Array<{cameraId: string, cameraPublic: Uint8Array, role: string, pairedAt: number}>>} */
  async cameras() {
    const all = await this.run(CAMERAS, 'readonly', (s) => s.getAll());
    return all.map((c) => ({ ...c, cameraPublic: new Uint8Array(c.cameraPublic) }));
  }

  pinCamera({ cameraId, cameraPublic, role }) {
    return this.run(CAMERAS, 'readwrite', (s) => s.put({ cameraId, cameraPublic, role, pairedAt: Date.now() }));
  }

  unpinCamera(cameraId) {
    return this.run(CAMERAS, 'readwrite', (s) => s.delete(cameraId));
  }

  /** "Forget this device": keys and pins go; a new identity is made on the next visit. */
  async forgetAll() {
    await this.run(DEVICE, 'readwrite', (s) => s.clear());
    await this.run(CAMERAS, 'readwrite', (s) => s.clear());
  }
}
