const ZERO_DECIMAL = new Set(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"]);
const THREE_DECIMAL = new Set(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);

/** ISO 4217 minor-unit exponent: the one definition (the SQL earn arithmetic gets it from here). */
export function currencyExponent(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
}

/**
 * Rounds an exact decimal string to `digits` decimals, half to even, with BigInt arithmetic
 * (never a float). "2.345" → "2.34", "2.355" → "2.36", "-0.005" → "0.00".
 */
export function roundHalfEven(value: string, digits: number): string {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(value.trim());
  if (!m) throw new Error(`not a decimal: ${value}`);
  const negative = m[1] === "-";
  const whole = m[2]!;
  const frac = m[3] ?? "";
  const kept = BigInt(whole + frac.slice(0, digits).padEnd(digits, "0"));
  const rest = frac.slice(digits);
  let rounded = kept;
  if (rest.length > 0 && /[1-9]/.test(rest)) {
    const first = rest[0]!;
    const beyond = /[1-9]/.test(rest.slice(1));
    if (first > "5" || (first === "5" && beyond) || (first === "5" && !beyond && kept % 2n === 1n)) rounded += 1n;
  }
  let text = rounded.toString().padStart(digits + 1, "0");
  if (digits > 0) text = `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative && rounded !== 0n ? `-${text}` : text;
}

/** a − b for decimal strings with the same number of decimals. */
export function subtractDecimals(a: string, b: string, digits: number): string {
  const scale = (s: string) => {
    const [w, f = ""] = s.replace("-", "").split(".");
    const v = BigInt(w! + f.padEnd(digits, "0"));
    return s.startsWith("-") ? -v : v;
  };
  const diff = scale(a) - scale(b);
  const abs = (diff < 0n ? -diff : diff).toString().padStart(digits + 1, "0");
  const text = digits > 0 ? `${abs.slice(0, -digits)}.${abs.slice(-digits)}` : abs;
  return diff < 0n ? `-${text}` : text;
}
