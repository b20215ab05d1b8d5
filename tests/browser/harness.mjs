// Test harness for the web viewer in a real browser: a static server for web-viewer/ with
// the headers signaling sends (CSP without inline scripts, wasm-unsafe-eval for the
// decryptor, nosniff, no-referrer), a scriptable fake signaling endpoint at /ws, and
// Debian's Chromium driven by playwright-core (never a downloaded browser).
import { createServer } from 'node:http';
import { readFile, mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { FakeWebSocket } from './ws-server.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web-viewer');
const TESTS = join(ROOT, 'tests', 'browser');
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');

// The policy signaling sends (signaling/src/routes.rs, CONTENT_SECURITY_POLICY).
export const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves web-viewer/ on 127.0.0.1 (port 0) and hands every /ws connection to `onSocket`.
 * @returns {Promise<{origin: string, sockets: FakeWebSocket[], close: () => Promise<void>}>}
 */
export async function startServer({ onSocket = () => {}, testFiles = false } = {}) {
  const sockets = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    // Test-only modules (the stand-in camera) under /__test__/, when a test asks for them.
    const [base, rel] = testFiles && path.startsWith('/__test__/')
      ? [TESTS, path.slice('/__test__'.length)]
      : [WEB, path === '/' ? '/index.html' : path];
    const file = normalize(join(base, decodeURIComponent(rel)));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
        // Test pages (the stand-in camera) talk to another origin's signaling server.
        'Content-Security-Policy': base === TESTS ? "default-src 'self'; connect-src *" : CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  server.on('upgrade', (req, socket) => {
    if (new URL(req.url, 'http://x').pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const ws = FakeWebSocket.accept(req, socket);
    if (!ws) return;
    sockets.push(ws);
    onSocket(ws);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    sockets,
    close: () => new Promise((resolve) => {
      for (const ws of sockets) ws.close();
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/** Chromium with a fresh profile directory; `close()` removes it. */
export async function launchBrowser({ initScript } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'sealcam-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Let tests use the real camera stack on 127.0.0.1 without a device prompt.
      '--use-fake-ui-for-media-stream',
      // Host candidates as plain addresses: the SFU cannot resolve mDNS names.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      // Gather 127.0.0.1 candidates: the stack under test listens on loopback only.
      '--allow-loopback-in-peer-connection',
    ],
  });
  if (initScript) await context.addInitScript(initScript);
  const page = context.pages()[0] ?? (await context.newPage());
  const logs = [];
  page.on('console', (msg) => logs.push(`${msg.type()}: ${msg.text()}`));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  return {
    context,
    page,
    logs,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the page finished starting (ready, unsupported or error). */
export async function started(page) {
  await page.waitForFunction(() => ['ready', 'unsupported', 'error'].includes(document.body.dataset.state), null, { timeout: 20_000 });
  return page.evaluate(() => document.body.dataset.state);
}

/** Resolves with the next message of `type` on `ws` (bounded by `timeoutMs`). */
export function nextMessage(ws, type, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.off('message', onMessage);
      reject(new Error(`no ${type} message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (text) => {
      const message = JSON.parse(text);
      if (message.type !== type) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
  });
}

/**
 * The first message of `type` a recorded session (`{ ws, seen }`, see recordMessages) sent:
 * one already recorded, or else the next to come. A fast page may send it before the test
 * gets here, so `nextMessage` alone would miss it and wait for a retry.
 */
export function firstMessage({ ws, seen }, type, timeoutMs = 15_000) {
  const earlier = seen.find((m) => m.type === type);
  return earlier ? Promise.resolve(earlier) : nextMessage(ws, type, timeoutMs);
}

/** Records every message each socket receives, by type. */
export function recordMessages(ws) {
  const seen = [];
  ws.on('message', (text) => seen.push(JSON.parse(text)));
  return seen;
}
