// A minimal WebSocket (RFC 6455) for the browser tests, both ends: the fake signaling
// server's side (handshake, unmasking client frames) and a client (masked frames) that
// plays a camera against the real signaling server. Unfragmented text frames only, which
// is all the signaling protocol uses. (Node 20 has no WebSocket client of its own.)
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { request } from 'node:http';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export class FakeWebSocket extends EventEmitter {
  constructor(socket, req, { masking = false } = {}) {
    super();
    this.socket = socket;
    this.request = req;
    // Clients must mask every frame they send (RFC 6455 §5.3); servers must not.
    this.masking = masking;
    this.buffer = Buffer.alloc(0);
    this.closed = false;
    socket.on('data', (chunk) => this.data(chunk));
    socket.on('close', () => this.finish());
    socket.on('error', () => this.finish());
  }

  /** Completes the HTTP upgrade; returns null when the request is not a WebSocket one. */
  static accept(request, socket) {
    const key = request.headers['sec-websocket-key'];
    if (!key) {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return null;
    }
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write([
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${accept}`,
      '', '',
    ].join('\r\n'));
    return new FakeWebSocket(socket, request);
  }

  data(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = this.parse();
      if (!frame) return;
      if (frame.opcode === 0x1) this.emit('message', frame.payload.toString('utf8'));
      else if (frame.opcode === 0x8) this.close();
      else if (frame.opcode === 0x9) this.frame(0xa, frame.payload);
    }
  }

  parse() {
    const b = this.buffer;
    if (b.length < 2) return null;
    const opcode = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    const maskLen = masked ? 4 : 0;
    if (b.length < offset + maskLen + length) return null;
    const mask = b.subarray(offset, offset + maskLen);
    const payload = Buffer.from(b.subarray(offset + maskLen, offset + maskLen + length));
    if (masked) for (let i = 0; i < payload.length; i += 1) payload[i] ^= mask[i % 4];
    this.buffer = b.subarray(offset + maskLen + length);
    return { opcode, payload };
  }

  frame(opcode, payload) {
    if (this.closed) return;
    const len = payload.length;
    const maskBit = this.masking ? 0x80 : 0;
    const header = len < 126 ? Buffer.from([0x80 | opcode, maskBit | len])
      : len < 65536 ? Buffer.from([0x80 | opcode, maskBit | 126, len >> 8, len & 0xff])
        : (() => { const h = Buffer.alloc(10); h[0] = 0x80 | opcode; h[1] = maskBit | 127; h.writeBigUInt64BE(BigInt(len), 2); return h; })();
    if (!this.masking) {
      this.socket.write(Buffer.concat([header, payload]));
      return;
    }
    const mask = randomBytes(4);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i += 1) masked[i] ^= mask[i % 4];
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** Sends one JSON message. */
  send(message) {
    this.frame(0x1, Buffer.from(JSON.stringify(message), 'utf8'));
  }

  close() {
    if (this.closed) return;
    this.frame(0x8, Buffer.from([0x03, 0xe8]));
    this.finish();
    this.socket.end();
  }

  finish() {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

/** Opens a client connection to `url` (ws://host:port/path); resolves once upgraded. */
export function connectWebSocket(url) {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    req.on('upgrade', (res, socket, head) => {
      const ws = new FakeWebSocket(socket, req, { masking: true });
      if (head.length > 0) ws.data(head);
      resolve(ws);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}
