// Store keys. A key longer than a store accepts is stored under its SHA-256
// (`sha256:` + 64 hex digits). Keys that themselves start with `sha256:`
// are hashed too, so a stored key of that form is always a hash and can
// never equal another key stored as it is; and entries carry their
// original key (envelope.ts), so even a hash collision would be a miss,
// never another key's value.
const HASHED = 'sha256:';
const encoder = new TextEncoder();

function utf8Length(s: string): number {
  // Exact without allocating for ASCII (the common case); encode otherwise.
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  return s.length;
}

async function sha256Hex(s: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(s)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Whether `key` is stored hashed in a store taking at most `maxKeyBytes`. */
export function needsHash(key: string, maxKeyBytes: number): boolean {
  return key.startsWith(HASHED) || utf8Length(key) > maxKeyBytes;
}

/** The key `key` is stored under in a store taking at most `maxKeyBytes` bytes. */
export async function storeKey(key: string, maxKeyBytes: number): Promise<string> {
  return needsHash(key, maxKeyBytes) ? HASHED + (await sha256Hex(key)) : key;
}
