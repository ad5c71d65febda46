/** Crockford's base32 without I, L, O, U: nothing a member could misread aloud or at a counter. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** `symbols` symbols of 5 random bits each (CSPRNG), in groups of four: `7K3Q-XM9D-2RTV`. */
export function humanCode(symbols: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(symbols));
  let out = "";
  for (let i = 0; i < symbols; i++) {
    if (i > 0 && i % 4 === 0) out += "-";
    out += ALPHABET[bytes[i]! & 31];
  }
  return out;
}

/** A code as a person typed it, reduced to its symbols: case, dashes and spaces do not matter; O, I and L read as 0, 1 and 1. */
export function plainCode(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
}

/** The symbols regrouped in fours, as codes are shown. */
export function groupedCode(input: string): string {
  return plainCode(input).replace(/(.{4})(?=.)/g, "$1-");
}
