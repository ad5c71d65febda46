/** Crockford's base32 without I, L, O, U: nothing a member could misread at a counter. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * A voucher code: 16 symbols of 5 random bits each (80 bits, over the 60 the contract asks for),
 * in groups of four: `7K3Q-XM9D-2RTV-8HNB`. From the platform's CSPRNG.
 */
export function voucherCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = "";
  for (let i = 0; i < 16; i++) {
    if (i > 0 && i % 4 === 0) out += "-";
    out += ALPHABET[bytes[i]! & 31];
  }
  return out;
}

/** A code as a person typed it: upper case, separators and spaces dropped, then regrouped. */
export function normaliseVoucherCode(input: string): string {
  const plain = input.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return plain.replace(/(.{4})(?=.)/g, "$1-");
}
