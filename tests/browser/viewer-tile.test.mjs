// One camera tile in Chromium, fed a local canvas stream: snapshot saves a PNG of the
// picture's exact size, fullscreen takes the video stage, the stats overlay toggles with
// its pressed state, and everything works from the keyboard alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startServer, launchBrowser, started, screenshot } from './harness.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.close();
});

test('snapshot, fullscreen and the overlay toggle, by keyboard', async () => {
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.origin}/`);
    assert.equal(await started(page), 'ready');
    await page.evaluate(async () => {
      const { CameraTile } = await import('/js/tile.js');
      const tile = new CameraTile('porch', { onMembers: () => {}, onUnpair: () => {} });
      tile.setPairing({ fingerprint: '12345 '.repeat(12).trim(), role: 'owner' });
      tile.setGeneration(7);
      tile.setStatus('live', { online: true });
      tile.setOverlay({ fps: 29.97, kbps: 812.4, decrypted: 300, duplicates: 2, failed: 0, latency: 48.2 });
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [320, 240];
      const ctx = canvas.getContext('2d');
      setInterval(() => { ctx.fillStyle = '#c00'; ctx.fillRect(0, 0, 320, 240); }, 33);
      tile.video.srcObject = canvas.captureStream(30);
      document.getElementById('grid').append(tile.el);
      await new Promise((resolve) => { tile.video.onloadeddata = resolve; });
    });
    const tile = page.locator('.tile[data-camera-id="porch"]');
    assert.match(await tile.locator('.badge').textContent(), /End-to-end encrypted · key generation 7/);
    assert.equal(await tile.locator('[data-stat="fps"]').textContent(), '30.0');
    assert.equal(await tile.locator('[data-stat="latency"]').textContent(), '48');
    assert.equal(await tile.getByRole('button', { name: 'Members' }).isVisible(), true, 'owners get the members button');
    await screenshot(page, 'viewer-tile-live');

    // Snapshot from the keyboard: focus the button, press Enter, a PNG of 320x240 arrives.
    await tile.getByRole('button', { name: 'Snapshot' }).focus();
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    assert.match(download.suggestedFilename(), /^sealcam-porch-.*\.png$/);
    const png = await readFile(await download.path());
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), 320, 'PNG width');
    assert.equal(png.readUInt32BE(20), 240, 'PNG height');

    // The stats overlay toggles with Space and reports its state.
    const stats = tile.getByRole('button', { name: 'Stats' });
    await stats.focus();
    await page.keyboard.press('Space');
    assert.equal(await stats.getAttribute('aria-pressed'), 'false');
    assert.equal(await tile.locator('.overlay').isVisible(), false);
    await page.keyboard.press('Space');
    assert.equal(await tile.locator('.overlay').isVisible(), true);

    await tile.getByRole('button', { name: 'Fullscreen' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.fullscreenElement?.dataset.cameraId === 'porch' || document.querySelector('.tile[data-camera-id="porch"] .error').textContent, null, { timeout: 5000 });
    assert.equal(await tile.locator('.error').textContent(), '');
    await screenshot(page, 'viewer-tile-fullscreen');
    // The exit is the same button, still on screen and focused, now named for what it does.
    assert.equal(await tile.getByRole('button', { name: 'Exit fullscreen' }).isVisible(), true);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.fullscreenElement === null, null, { timeout: 5000 });
    await tile.getByRole('button', { name: 'Fullscreen', exact: true }).waitFor();

    // Every button on the page has an accessible name.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('button')]
      .filter((b) => !(b.textContent.trim() || b.getAttribute('aria-label'))).length);
    assert.equal(unnamed, 0);
  } finally {
    await browser.close();
  }
});
