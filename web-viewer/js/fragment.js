// Settings passed in the URL fragment (`#token=…&transform=…`). The fragment never reaches
// any server (unlike the query string, which lands in access logs and Referer headers), so
// it is the only place a token may travel in a link; the page removes it right after reading.

/** @returns {{token: string|null, transform: string|null}} */
export function parseFragment(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  const token = params.get('token');
  return {
    token: token && token.trim() ? token.trim() : null,
    transform: params.get('transform'),
  };
}

/** The fragment with the token removed (other settings stay), '' when nothing remains. */
export function scrubToken(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  params.delete('token');
  const rest = params.toString();
  return rest ? `#${rest}` : '';
}

/** True when a pasted token looks like a JWT (three base64url parts); not a validity check. */
export function looksLikeToken(text) {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(String(text ?? '').trim());
}

/**
 * A one-time pairing link (`#token=…&camera=ID&pair=CODE`, what `scripts/demo` prints):
 * the code the camera issued and, optionally, which camera it belongs to. The code is a
 * secret like the token, so it too only ever travels in the fragment.
 * @returns {{code: string, cameraId: string|null}|null}
 */
export function parsePairingLink(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  const code = params.get('pair')?.trim();
  if (!code) return null;
  const cameraId = params.get('camera')?.trim();
  return { code, cameraId: cameraId || null };
}

/** The fragment without its secrets (token, pairing link); other settings stay. */
export function scrubSecrets(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  params.delete('token');
  params.delete('pair');
  params.delete('camera');
  const rest = params.toString();
  return rest ? `#${rest}` : '';
}
