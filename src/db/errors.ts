/**
 * Classifies driver errors without importing any driver: pg, Neon and PGlite all surface
 * Postgres SQLSTATEs as `code`, and socket failures as Node-style error codes.
 */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-4]|53300|53[0-9]{3})/; // connection exceptions, shutdown, too many connections
const UNAVAILABLE_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection is insecure|terminating connection|Client has encountered a connection error|timeout exceeded when trying to connect|WebSocket|Connection closed|socket hang up|Cannot use a pool after calling end/i;

export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && (UNAVAILABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
    if (typeof message === "string" && UNAVAILABLE_MESSAGE.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export const UNIQUE_VIOLATION = "23505";
export const CHECK_VIOLATION = "23514";
export const SERIALIZATION_FAILURE = "40001";
export const DEADLOCK_DETECTED = "40P01";

/** The driver's own error (the innermost cause), short: never the query text or its parameters. */
export function describeDriverError(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object" && (e as { cause?: unknown }).cause; depth++) e = (e as { cause?: unknown }).cause;
  if (e && typeof e === "object") {
    const { code, message } = e as { code?: unknown; message?: unknown };
    return `${String(code ?? "")} ${String(message ?? "")}`.trim().slice(0, 200);
  }
  return String(e).slice(0, 200);
}
