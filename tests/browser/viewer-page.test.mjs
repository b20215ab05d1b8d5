// The viewer page in Debian's Chromium with the real WASM decryptor: it loads under the
// production CSP, makes a device on the first visit, keeps it across reloads, shows its
// fingerprint, forgets it on request, picks a transform API, and explains itself when the
// browser has neither transform API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, screenshot, started } from './harness.mjs';

const FINGERPRINT = /^\d{5}( \d{5}){11}$/;
let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.close();
});

async function deviceShown(page) {
  return page.evaluate(() => ({
    id: document.getElementById('device-id').textContent,
    fingerprint: document.getElementById('device-fingerprint').textContent,
    name: document.getElementById('device-name').textContent,
    isNew: !document.getElementById('device-new').hidden,
    api: document.body.dataset.transform,
  }));
}

test('first visit makes a device; reload keeps the same id and fingerprint', async () => {
  const browser = await launchBrowser();
  try {
    const { page, logs } = browser;
    await page.goto(`${server.origin}/`);
    assert.equal(await started(page), 'ready', logs.join('\n'));
    const first = await deviceShown(page);
    assert.match(first.id, /^[0-9a-f]{16}$/);
    assert.match(first.fingerprint, FINGERPRINT);
    assert.equal(first.name, 'Chromium on Linux');
    assert.equal(first.isNew, true);
    await screenshot(page, 'viewer-first-visit');

    await page.reload();
    assert.equal(await started(page), 'ready');
    const again = await deviceShown(page);
    assert.deepEqual({ ...again, isNew: false }, { ...first, isNew: false });
    assert.equal(again.isNew, false, 'a reloaded device is not announced as new');
    assert.equal(logs.filter((l) => /error|Content Security Policy/i.test(l)).length, 0, logs.join('\n'));
  } finally {
    await browser.close();
  }
});

test('"Forget this device" deletes the keys; the next load makes new ones', async () => {
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.goto(`${server.origin}/`);
    await started(page);
    const before = await deviceShown(page);
    page.once('dialog', (dialog) => dialog.accept());
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Forget this device' }).click()]);
    assert.equal(await started(page), 'ready');
    const after = await deviceShown(page);
    assert.notEqual(after.id, before.id);
    assert.notEqual(after.fingerprint, before.fingerprint);
    assert.equal(after.isNew, true);
  } finally {
    await browser.close();
  }
});

test('RTCRtpScriptTransform is used when present; the fragment can force createEncodedStreams', async () => {
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    const native = await page.evaluate(() => ({ script: typeof RTCRtpScriptTransform, encoded: typeof RTCRtpReceiver.prototype.createEncodedStreams }));
    await page.goto(`${server.origin}/`);
    await started(page);
    const expected = native.script === 'function' ? 'script-transform' : 'encoded-streams';
    assert.equal((await deviceShown(page)).api, expected);
    if (native.encoded === 'function') {
      await page.goto(`${server.origin}/#transform=encoded-streams`);
      await page.reload();
      await started(page);
      assert.equal((await deviceShown(page)).api, 'encoded-streams');
      assert.equal(await page.locator('#transform-api').textContent(), 'createEncodedStreams');
    }
  } finally {
    await browser.close();
  }
});

test('without either transform API the page lists the browsers that work', async () => {
  const browser = await launchBrowser({
    initScript: () => {
      delete window.RTCRtpScriptTransform;
      if (window.RTCRtpReceiver) delete window.RTCRtpReceiver.prototype.createEncodedStreams;
    },
  });
  try {
    const { page } = browser;
    await page.goto(`${server.origin}/`);
    assert.equal(await started(page), 'unsupported');
    const section = page.locator('#unsupported');
    assert.equal(await section.isVisible(), true);
    assert.equal(await page.locator('#app').isVisible(), false);
    const text = await section.innerText();
    assert.match(text, /cannot hand encrypted video frames/);
    assert.match(text, /Firefox 117 or later/);
    assert.match(text, /Safari 15\.4 or later/);
    assert.match(text, /Chrome, Edge/);
    await screenshot(page, 'viewer-unsupported-browser');
  } finally {
    await browser.close();
  }
});

test('phone-sized screens get one column and nothing wider than the screen', async () => {
  const browser = await launchBrowser();
  try {
    const { page } = browser;
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${server.origin}/`);
    await started(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    // Every form control has an accessible name.
    const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.id));
    assert.deepEqual(unlabeled, []);
    await screenshot(page, 'viewer-phone');
  } finally {
    await browser.close();
  }
});
