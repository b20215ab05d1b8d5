// Entry point: checks the browser, loads the decryptor, restores or creates this device,
// signs in with a token (pasted, or from the URL fragment), and runs the live view.
import { byId, h, show } from './dom.js';
import { detectTransformApi, MISSING_TEXT, WORKING_BROWSERS } from './support.js';
import { parseFragment, parsePairingLink, scrubSecrets, looksLikeToken } from './fragment.js';
import { Store } from './store.js';
import { loadOrCreateDevice } from './device.js';
import { DecryptWorker } from './decrypt-worker.js';
import { SignalingClient, socketUrl } from './signaling.js';
import { Viewer } from './viewer.js';
import { renderDevice, wirePairing, setGrantedCameras, openMembers } from './panels.js';

// The token lives for this tab only: closing the tab signs out, and it is never in a URL.
const TOKEN_KEY = 'sealcam.token';

function showUnsupported(missing) {
  byId('unsupported-reasons').replaceChildren(...missing.map((m) => h('li', { text: MISSING_TEXT[m] ?? m })));
  byId('working-browsers').replaceChildren(...WORKING_BROWSERS.map((b) => h('li', { text: b })));
  show(byId('loading'), false);
  show(byId('unsupported'), true);
  document.body.dataset.state = 'unsupported';
}

function setConnection(text, state) {
  const el = byId('connection');
  el.textContent = text;
  el.dataset.state = state;
}

async function main() {
  const fragment = parseFragment(window.location.hash);
  const pairingLink = parsePairingLink(window.location.hash);
  if (window.location.hash) {
    // Take the token and any pairing code out of the address bar and history before
    // anything else can see them.
    window.history.replaceState(null, '', window.location.pathname + scrubSecrets(window.location.hash));
  }
  const support = detectTransformApi(window, fragment.transform);
  if (!support.api) {
    showUnsupported(support.missing);
    return;
  }
  document.body.dataset.transform = support.api;
  byId('transform-api').textContent = support.api === 'script-transform' ? 'RTCRtpScriptTransform' : 'createEncodedStreams';

  // Loaded only now, so a browser that cannot use it does not download it.
  const wasm = await import('../pkg/wasm_decrypt.js');
  await wasm.default();
  byId('decryptor-version').textContent = wasm.version();
  const store = await Store.open();
  const { device, created } = await loadOrCreateDevice(wasm, store);
  renderDevice(device, {
    created,
    onForget: async () => {
      await store.forgetAll();
      sessionStorage.removeItem(TOKEN_KEY);
      window.location.reload();
    },
  });

  const decrypt = new DecryptWorker(support.api);
  decrypt.setDevice(device.toBytes());
  await decrypt.ready;

  let signaling = null;
  const viewer = new Viewer({
    wasm,
    device,
    decrypt,
    grid: byId('grid'),
    onMembers: (cameraId) => openMembers({ cameraId, signaling, device }),
    onUnpair: async (cameraId) => {
      if (!window.confirm(`Unpair ${cameraId}? This device forgets the camera's key; pairing again needs a new code.`)) return;
      await store.unpinCamera(cameraId);
      viewer.unpin(cameraId);
    },
  });
  for (const pinned of await store.cameras()) viewer.pin(pinned);

  const pairWith = wirePairing({
    wasm,
    device,
    getSignaling: () => signaling,
    onPaired: async (paired) => {
      await store.pinCamera(paired);
      viewer.pin(paired);
    },
  });

  const signIn = (token) => {
    signaling?.stop();
    viewer.detach();
    sessionStorage.setItem(TOKEN_KEY, token);
    signaling = new SignalingClient({ url: socketUrl(window.location), token });
    viewer.attach(signaling);
    signaling.addEventListener('welcome', (e) => {
      setConnection(`Connected · ${e.detail.cameras.length} camera(s)`, 'connected');
      setGrantedCameras(e.detail.cameras);
      show(byId('signin-form'), false);
      show(byId('signed-in'), true);
      show(byId('no-cameras'), e.detail.cameras.length === 0);
    });
    signaling.addEventListener('reconnecting', (e) => {
      setConnection(`Connection lost · retrying in ${Math.ceil(e.detail.delayMs / 1000)} s`, 'reconnecting');
    });
    signaling.addEventListener('fatal', (e) => {
      setConnection('Signed out', 'signed-out');
      sessionStorage.removeItem(TOKEN_KEY);
      byId('signin-error').textContent = e.detail.message;
      show(byId('signin-form'), true);
      show(byId('signed-in'), false);
    });
    setConnection('Connecting…', 'connecting');
    signaling.start();
  };

  byId('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = byId('token-input').value.trim();
    if (!looksLikeToken(token)) {
      byId('signin-error').textContent = 'That does not look like an access token (three parts separated by dots).';
      return;
    }
    byId('signin-error').textContent = '';
    byId('token-input').value = '';
    signIn(token);
  });
  byId('signout').addEventListener('click', () => {
    signaling?.stop();
    signaling = null;
    viewer.detach();
    sessionStorage.removeItem(TOKEN_KEY);
    setConnection('Not signed in', 'signed-out');
    show(byId('signin-form'), true);
    show(byId('signed-in'), false);
    show(byId('pairing'), false);
    show(byId('no-cameras'), true);
  });

  // Leaving the page closes the session at once, so the server stops forwarding media.
  window.addEventListener('pagehide', () => signaling?.stop());
  window.addEventListener('pageshow', (event) => {
    // Back from the back/forward cache: the old session was closed on the way out.
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (event.persisted && saved) signIn(saved);
  });

  show(byId('loading'), false);
  show(byId('app'), true);
  document.body.dataset.state = 'ready';
  const token = fragment.token ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
  if (token && pairingLink) {
    // A pairing link (scripts/demo prints one): redeem the code once signed in, exactly as
    // if it had been typed into the pairing form.
    signaling.addEventListener('welcome', async (e) => {
      const granted = e.detail.cameras;
      const cameraId = pairingLink.cameraId ?? (granted.length === 1 ? granted[0] : null);
      if (!cameraId || !granted.includes(cameraId)) {
        byId('pair-status').textContent = 'The pairing link names no camera this sign-in may see; pick the camera and type the code.';
        byId('pair-status').dataset.state = 'error';
        return;
      }
      // Opened again in a browser that already paired: the code was used up, nothing to do.
      if ((await store.cameras()).some((c) => c.cameraId === cameraId)) return;
      byId('pair-camera').value = cameraId;
      await pairWith(cameraId, pairingLink.code);
    }, { once: true });
  }
}

main().catch((error) => {
  show(byId('loading'), false);
  const box = byId('startup-error');
  box.textContent = `Sealcam could not start: ${error.message}`;
  show(box, true);
  document.body.dataset.state = 'error';
});
