// The side panels: this device (fingerprint, forget), pairing a camera, and the owner's
// member list. Each function wires one panel of index.html and returns what the app needs.
import { byId, h, show } from './dom.js';
import { pairCamera } from './pairing.js';
import { listMembers, revokeMember, approveMember, canSignCommands } from './owner.js';
import { deviceCode, parseDeviceCode } from './payloads.js';
import { parseViewerPublic } from './wire.js';
import { describeDevice } from './membership.js';

export function renderDevice(device, { created, onForget }) {
  byId('device-name').textContent = device.name;
  byId('device-id').textContent = device.deviceId;
  byId('device-fingerprint').textContent = device.fingerprint();
  byId('device-new').hidden = !created;
  byId('device-code').value = deviceCode(device.publicKeys());
  byId('copy-device-code').onclick = async () => {
    byId('device-code').select();
    await navigator.clipboard?.writeText(byId('device-code').value).catch(() => {});
  };
  byId('forget-device').onclick = () => {
    const ok = window.confirm('Forget this device? Its keys and every camera pairing are deleted from this browser. You will have to pair again.');
    if (ok) onForget();
  };
}

/**
 * The pairing form; `granted` is the camera list from `welcome`. Returns `pairWith`, which
 * runs the same pairing (with the same status display) for a code that came from a link.
 */
export function wirePairing({ wasm, device, getSignaling, onPaired }) {
  const form = byId('pair-form');
  const status = byId('pair-status');
  const result = byId('pair-result');
  const button = form.querySelector('button[type=submit]');
  const pairWith = async (cameraId, codeText) => {
    status.textContent = `Pairing with ${cameraId}…`;
    status.dataset.state = 'busy';
    result.hidden = true;
    button.disabled = true;
    try {
      const paired = await pairCamera({ wasm, device, signaling: getSignaling(), cameraId, codeText });
      await onPaired(paired);
      byId('pair-code').value = '';
      status.textContent = `Paired with ${cameraId} as ${paired.role}. Compare this fingerprint with the one the camera shows:`;
      status.dataset.state = 'done';
      byId('pair-fingerprint').textContent = paired.fingerprint;
      result.hidden = false;
    } catch (error) {
      status.textContent = error.message;
      status.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    pairWith(byId('pair-camera').value, byId('pair-code').value);
  });
  return pairWith;
}

export function setGrantedCameras(cameras) {
  const select = byId('pair-camera');
  select.replaceChildren(...cameras.map((id) => h('option', { value: id, text: id })));
  show(byId('pairing'), cameras.length > 0);
}

/** The owner's dialog: list members of one camera, revoke any other device. */
export function openMembers({ cameraId, signaling, device }) {
  const dialog = byId('members-dialog');
  const list = byId('members-list');
  const status = byId('members-status');
  byId('members-title').textContent = `Devices that can see ${cameraId}`;
  list.replaceChildren();
  status.textContent = 'Asking the camera…';
  let current = null;
  const render = (membership) => {
    status.textContent = `${membership.members.length} device(s), list version ${membership.version}.`;
    list.replaceChildren(...membership.members.map((m) => {
      const self = m.deviceId === device.deviceId;
      const revoke = h('button', {
        type: 'button',
        class: 'danger',
        disabled: self || !canSignCommands(device),
        title: canSignCommands(device) ? null : 'Needs a viewer build that can sign owner commands',
        text: self ? 'This device' : 'Revoke',
        onclick: async () => {
          if (!window.confirm(`Revoke ${m.device.name} (${m.deviceId})? It stops receiving keys at once.`)) return;
          status.textContent = 'Revoking…';
          try {
            render(await revokeMember({ signaling, device, cameraId, deviceId: m.deviceId, version: membership.version }));
          } catch (error) {
            status.textContent = error.message;
          }
        },
      });
      return h('li', { dataset: { deviceId: m.deviceId } },
        h('strong', { text: m.device.name }),
        h('span', { text: ` · ${m.role} · ${m.deviceId} · since ${new Date(m.addedAt * 1000).toLocaleDateString()}` }),
        h('br'),
        h('code', { class: 'fingerprint-digits', text: m.fingerprint }),
        ' ', revoke);
    }));
    current = membership;
  };
  listMembers(signaling, cameraId).then(render, (error) => {
    status.textContent = error.message;
  });
  wireApproval({ cameraId, signaling, device, render, getVersion: () => current?.version });
  if (!dialog.open) dialog.showModal();
}

/** "Add a device": check a pasted device code, show its fingerprint, approve on request. */
function wireApproval({ cameraId, signaling, device, render, getVersion }) {
  const form = byId('approve-form');
  const out = byId('approve-status');
  const check = byId('approve-check');
  let candidate = null;
  check.hidden = true;
  out.textContent = '';
  byId('approve-button').disabled = !canSignCommands(device);
  form.onsubmit = async (event) => {
    event.preventDefault();
    check.hidden = true;
    try {
      const bytes = parseDeviceCode(byId('approve-code').value);
      const parsed = parseViewerPublic(bytes);
      const { deviceId, fingerprint } = await describeDevice(parsed);
      candidate = bytes;
      byId('approve-name').textContent = parsed.name;
      byId('approve-id').textContent = deviceId;
      byId('approve-fingerprint').textContent = fingerprint;
      check.hidden = false;
      out.textContent = canSignCommands(device) ? '' : 'This viewer build cannot sign approvals yet; pair the device at the camera instead.';
    } catch (error) {
      out.textContent = `That is not a device code: ${error.message}`;
    }
  };
  byId('approve-button').onclick = async () => {
    if (!candidate || getVersion() === undefined) return;
    out.textContent = 'Approving…';
    try {
      render(await approveMember({ signaling, device, cameraId, devicePublic: candidate, role: byId('approve-role').value, version: getVersion() }));
      out.textContent = 'Approved. The device can now ask this camera for its key.';
      check.hidden = true;
      byId('approve-code').value = '';
    } catch (error) {
      out.textContent = error.message;
    }
  };
}
