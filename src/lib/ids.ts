const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Opaque, prefixed, time-ordered ids (`txn_01j…`): 48 bits of milliseconds then 80 random bits,
 * Crockford base32 like a ULID, so ids sort by creation time and make stable cursors.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let out = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  const random = new Uint8Array(16);
  crypto.getRandomValues(random);
  for (let i = 0; i < 16; i++) out += CROCKFORD[random[i]! % 32];
  return `${prefix}_${out}`;
}

/** A random url-safe token of `bytes` bytes of entropy (link codes, portal tokens). */
export function randomToken(bytes = 32): string {
  const raw = new Uint8Array(bytes);
  crypto.getRandomValues(raw);
  let s = "";
  for (const b of raw) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
