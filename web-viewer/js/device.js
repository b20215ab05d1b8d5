// This browser's device identity: made by the WASM module on the first visit, exported into
// IndexedDB, imported on every later visit (same id, same fingerprint).

/** A human label owners see in their member list, from what the browser says about itself. */
export function defaultDeviceName(nav = globalThis.navigator) {
  const ua = String(nav?.userAgent ?? '');
  const browser = /Edg\//.test(ua) ? 'Edge'
    : /Firefox\//.test(ua) ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua) ? 'Chromium'
        : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const system = /iPhone|iPad/.test(ua) ? 'iOS'
    : /Android/.test(ua) ? 'Android'
      : /Mac OS X/.test(ua) ? 'macOS'
        : /Windows/.test(ua) ? 'Windows'
          : /Linux/.test(ua) ? 'Linux' : null;
  return system ? `${browser} on ${system}` : browser;
}

/**
 * @returns {Promise<{device: object, created: boolean}>} the stored device, or a new one
 *   (stored before it is returned, so a crash cannot leave the page using unsaved keys)
 */
export async function loadOrCreateDevice(wasm, store, name = defaultDeviceName()) {
  const stored = await store.loadDevice();
  if (stored) {
    try {
      return { device: wasm.ViewerDevice.fromBytes(stored), created: false };
    } catch (error) {
      throw new Error(`The stored device keys cannot be read (${error.message}). Use "Forget this device" to start over; you will have to pair again.`);
    }
  }
  const device = wasm.ViewerDevice.generate(name);
  await store.saveDevice(device.toBytes());
  return { device, created: true };
}
