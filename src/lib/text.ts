/**
 * Text Postgres can store: UTF-8 without NUL. JSON and URLs can carry both a NUL (`\u0000`,
 * `%00`) and a lone UTF-16 surrogate (`\ud800`), which no UTF-8 string holds; such input is
 * refused at validation instead of failing (or being silently altered) at the database.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `text` cannot be stored, or null when it can. */
export function unstorableReason(text: string): string | null {
  if (text.includes("\u0000")) return "must not contain a NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "must be valid Unicode (it contains an unpaired surrogate)";
  return null;
}

/** The first string (or object key) anywhere in `value` that cannot be stored, with its path. */
export function findUnstorableText(value: unknown, path: (string | number)[] = []): { path: string; message: string } | null {
  if (typeof value === "string") {
    const reason = unstorableReason(value);
    return reason ? { path: path.join("."), message: reason } : null;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnstorableText(item, [...path, i]);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const keyReason = unstorableReason(key);
      if (keyReason) return { path: [...path, key].join("."), message: `field name ${keyReason}` };
      const found = findUnstorableText(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}
