// The owner's tools in the real viewer app, against the real camera agent (testsrc) and
// signaling with its embedded SFU, all on 127.0.0.1:
// - the first paired device is the camera's owner; its Members dialog lists both devices
//   with the fingerprints each device shows itself, and the agent's `viewers list` agrees;
// - the owner revokes the other device with a click (a command signed by the WASM
//   ViewerDevice, verified by the camera): the revoked viewer loses its key, its tile shows
//   "Not authorized (no key)" and no testsrc picture, the camera's persisted membership no
//   longer has it, and the owner keeps decoding testsrc under a newer key generation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { screenshot } from './harness.mjs';
import {
  startAgentStack, tileSelector, openViewer, pairThroughUi, framesDecoded, waitLive,
  assertPicture, sampleVideo, renderedStage, colourOff, COLOUR_TOLERANCE,
} from './stack.mjs';

const CAMERA = 'back-yard';
const TILE = tileSelector(CAMERA);
let stack;
let agent;
let viewerToken;

before(async () => {
  stack = await startAgentStack(CAMERA);
  ({ agent, viewerToken } = stack);
});

after(async () => {
  await stack?.stop();
});

/** Fingerprints compared as people do: the digits, whatever the grouping. */
const digits = (text) => text.replace(/\D/g, '');

/** This device as its own page shows it (the panel a person reads the numbers from). */
async function ownDevice(page) {
  return {
    deviceId: (await page.locator('#device-id').textContent()).trim(),
    fingerprint: digits(await page.locator('#device-fingerprint').textContent()),
  };
}

const memberRow = (page, deviceId) => page.locator(`#members-list li[data-device-id="${deviceId}"]`);

/** The rendered stage shows testsrc's red and blue regions (or, with `shown` false, neither). */
async function assertStageShows(page, shown) {
  const seen = await renderedStage(page, CAMERA);
  for (const [region, rgb] of Object.entries(seen)) {
    const matches = colourOff(rgb, region) <= COLOUR_TOLERANCE;
    assert.equal(matches, shown, `${region} probe on screen: rgb(${rgb})`);
  }
}

test('the owner revokes a viewer from the Members dialog; it loses the picture, the owner keeps it', async () => {
  const owner = await openViewer({ origin: stack.origin, token: viewerToken, api: 'script-transform' });
  const guest = await openViewer({ origin: stack.origin, token: viewerToken, api: 'encoded-streams' });
  try {
    await pairThroughUi(owner.page, CAMERA, await agent.pair());
    await pairThroughUi(guest.page, CAMERA, await agent.pair());
    await waitLive(owner.page, CAMERA);
    await waitLive(guest.page, CAMERA);
    await assertPicture(owner.page, CAMERA);
    await assertPicture(guest.page, CAMERA);
    const ownerDevice = await ownDevice(owner.page);
    const guestDevice = await ownDevice(guest.page);
    assert.notEqual(ownerDevice.deviceId, guestDevice.deviceId);
    assert.deepEqual((await agent.viewers()).map((m) => [m.deviceId, m.role, m.fingerprint]).sort(), [
      [ownerDevice.deviceId, 'owner', ownerDevice.fingerprint],
      [guestDevice.deviceId, 'viewer', guestDevice.fingerprint],
    ].sort(), 'the camera enrolled the first device as owner');
    // Only the owner's tile offers the owner tools.
    assert.equal(await guest.page.locator(`${TILE} button`, { hasText: 'Members' }).isHidden(), true);

    // Open the dialog from the keyboard, as a person tabbing through the tile would.
    const { page } = owner;
    await page.locator(`${TILE} button`, { hasText: 'Members' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('members-dialog').open, null, { timeout: 5_000 });
    await page.waitForFunction(() => /^2 device\(s\)/.test(document.getElementById('members-status').textContent), null, { timeout: 15_000 });
    assert.equal(await page.locator('#members-list li').count(), 2);
    for (const [device, role] of [[ownerDevice, 'owner'], [guestDevice, 'viewer']]) {
      const row = memberRow(page, device.deviceId);
      assert.equal(digits(await row.locator('.fingerprint-digits').textContent()), device.fingerprint, `${role}'s fingerprint as its device shows it`);
      assert.match(await row.textContent(), new RegExp(` · ${role} · ${device.deviceId} · `));
    }
    assert.equal(await memberRow(page, ownerDevice.deviceId).getByRole('button').isDisabled(), true, 'no revoking oneself');
    const revoke = memberRow(page, guestDevice.deviceId).getByRole('button', { name: 'Revoke' });
    assert.equal(await revoke.isEnabled(), true, 'the WASM device can sign the revocation');
    await screenshot(page, 'viewer-owner-members');

    const ownerGeneration = Number(await page.locator(TILE).getAttribute('data-generation'));
    const confirmations = [];
    page.once('dialog', async (dialog) => {
      confirmations.push(dialog.message());
      await dialog.accept();
    });
    await revoke.click();
    // The list the camera answers with, after applying the signed command.
    await page.waitForFunction(() => /^1 device\(s\)/.test(document.getElementById('members-status').textContent), null, { timeout: 15_000 });
    assert.equal(confirmations.length, 1);
    assert.match(confirmations[0], new RegExp(`Revoke .*\\(${guestDevice.deviceId}\\)\\?`));
    assert.deepEqual(await page.locator('#members-list li').evaluateAll((rows) => rows.map((r) => r.dataset.deviceId)), [ownerDevice.deviceId]);
    await screenshot(page, 'viewer-owner-revoked-list');
    // The camera persisted it: its own CLI no longer lists the device.
    assert.deepEqual((await agent.viewers()).map((m) => m.deviceId), [ownerDevice.deviceId]);

    // The revoked viewer: no key, unsubscribed, nothing of testsrc on screen.
    await guest.page.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'no-key', TILE, { timeout: 30_000 });
    assert.equal(await guest.page.locator(`${TILE} .veil`).textContent(), 'Not authorized (no key)');
    await guest.page.waitForFunction((sel) => document.querySelector(`${sel} video`).videoWidth === 0, TILE, { timeout: 10_000 });
    assert.equal(await sampleVideo(guest.page, CAMERA), null, 'the revoked viewer has no picture');
    await assertStageShows(guest.page, false);
    await screenshot(guest.page, 'viewer-owner-guest-revoked');

    // The owner: a newer key generation, frames still coming, testsrc on screen, no failures.
    await page.getByRole('button', { name: 'Close' }).click();
    await page.waitForFunction(() => !document.getElementById('members-dialog').open, null, { timeout: 5_000 });
    await page.waitForFunction(([sel, g]) => Number(document.querySelector(sel)?.dataset.generation) > g, [TILE, ownerGeneration], { timeout: 15_000 });
    const decoded = await framesDecoded(page, CAMERA);
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).dataset.framesDecoded) > n + 30, [TILE, decoded], { timeout: 15_000 });
    await assertPicture(page, CAMERA);
    await assertStageShows(page, true);
    assert.equal(await page.locator(TILE).getAttribute('data-status'), 'live');
    await screenshot(page, 'viewer-owner-still-live');
  } finally {
    await owner.close();
    await guest.close();
  }
});
