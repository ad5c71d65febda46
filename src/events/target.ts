/**
 * Guards webhook delivery against server-side request forgery: https only (plain http only to
 * loopback outside production), no credentials in the URL, and no private, loopback, link-local
 * or otherwise internal address, checked on every address the name resolves to.
 */
export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
}

function ipv4(address: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  return m ? m.slice(1).map(Number) : null;
}

/** True for addresses a webhook must never reach. */
export function isInternalAddress(address: string): boolean {
  let a = address.toLowerCase().replace(/^\[|\]$/g, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1]!;
  const v4 = ipv4(a);
  if (v4) {
    const [x, y] = v4 as [number, number];
    return (
      x === 0 || x === 10 || x === 127 || (x === 169 && y === 254) || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) ||
      (x === 100 && y >= 64 && y <= 127) || (x === 192 && y === 0) || (x === 198 && (y === 18 || y === 19)) || x >= 224
    );
  }
  if (a.includes(":")) {
    return a === "::" || a === "::1" || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || /^ff/.test(a) || a.startsWith("64:ff9b:") || a.startsWith("2001:db8");
  }
  return false;
}

const isLoopbackHost = (host: string) => /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i.test(host);

export async function checkWebhookTarget(
  rawUrl: string,
  options: { allowLoopbackHttp: boolean; resolveHost?: (host: string) => Promise<string[]> },
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UnsafeTargetError("not a URL");
  }
  if (url.username || url.password) throw new UnsafeTargetError("credentials in the URL are not allowed");
  const host = url.hostname;
  const loopback = isLoopbackHost(host);
  if (url.protocol === "http:") {
    if (!(options.allowLoopbackHttp && loopback)) throw new UnsafeTargetError("webhooks must use https");
    return url; // local development receiver
  }
  if (url.protocol !== "https:") throw new UnsafeTargetError("webhooks must use https");
  if (loopback || isInternalAddress(host)) throw new UnsafeTargetError("internal addresses are not allowed");
  if (options.resolveHost && !ipv4(host) && !host.includes(":")) {
    const addresses = await options.resolveHost(host);
    if (addresses.length === 0) throw new UnsafeTargetError("the host does not resolve");
    if (addresses.some(isInternalAddress)) throw new UnsafeTargetError("the host resolves to an internal address");
  }
  return url;
}
