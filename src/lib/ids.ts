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
  const random = randomBytes16();
  for (let i = 0; i < 16; i++) out += CROCKFORD[random[i]! % 32];
  return `${prefix}_${out}`;
}

// Ids draw their random bits from a buffer refilled 4 KiB at a time: one CSPRNG call per 256 ids
// instead of one per id (it showed in the request profile). Tokens below stay one call each.
const idRandomness = new Uint8Array(4_096);
let idRandomnessUsed = idRandomness.length;
function randomBytes16(): Uint8Array {
  if (idRandomnessUsed + 16 > idRandomness.length) {
    crypto.getRandomValues(idRandomness);
    idRandomnessUsed = 0;
  }
  idRandomnessUsed += 16;
  return idRandomness.subarray(idRandomnessUsed - 16, idRandomnessUsed);
}

/** A random url-safe token of `bytes` bytes of entropy (link codes, portal tokens). */
export function randomToken(bytes = 32): string {
  const raw = new Uint8Array(bytes);
  crypto.getRandomValues(raw);
  let s = "";
  for (const b of raw) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
