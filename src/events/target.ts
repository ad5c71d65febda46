/**
 * Guards webhook delivery against server-side request forgery: https only (plain http only to
 * loopback outside production), no credentials in the URL, and never a loopback, private,
 * link-local or otherwise internal address in any spelling. Addresses are classified with
 * ipaddr.js by what a connection would really reach: the IPv4 address inside IPv4-mapped and
 * IPv4-compatible IPv6, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) is judged as that IPv4 address.
 * Numeric IPv4 spellings (decimal, hex, octal, short, trailing dot) are normalised by the WHATWG
 * URL parser before they get here.
 *
 * Two uses: `webhookUrlProblem` at registration (no DNS: literal addresses and obviously internal
 * names), and `checkWebhookTarget` plus `checkResolvedAddresses` at delivery, where the Node
 * transport resolves a name once, checks every address and connects to the one it checked.
 */
import ipaddr from "ipaddr.js";

export class UnsafeTargetError extends Error {
  override name = "UnsafeTargetError";
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** The address a connection to `addr` really reaches, or null when that cannot be known (Teredo). */
function effectiveAddress(addr: Address): Address | null {
  if (addr.kind() === "ipv4") return addr;
  const v6 = addr as ipaddr.IPv6;
  const p = v6.parts;
  const v4From = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (v6.range()) {
    case "ipv4Mapped": // ::ffff:a.b.c.d
    case "rfc6145": // ::ffff:0:a.b.c.d (SIIT)
      return v4From(p[6]!, p[7]!);
    case "rfc6052": // 64:ff9b::a.b.c.d (NAT64); 64:ff9b:1::/48 is for local use only
      return p[2] === 0 ? v4From(p[6]!, p[7]!) : null;
    case "6to4": // 2002:AABB:CCDD::/48 embeds a.b.c.d
      return v4From(p[1]!, p[2]!);
    case "teredo": // the embedded client address is obfuscated and the relay is outside our control
      return null;
  }
  // IPv4-compatible ::a.b.c.d (deprecated, but some stacks still route it as IPv4).
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return v4From(p[6]!, p[7]!);
  return v6;
}

/** Parses an address as it appears in a URL host or a resolver answer; null when it is not one. */
function parseAddress(text: string): Address | null {
  const bare = text.replace(/^\[(.*)\]$/, "$1");
  if (bare.includes("%")) return null; // zone ids (fe80::1%eth0) only name local links
  if (!ipaddr.isValid(bare)) return null;
  // Only the canonical four-part form for IPv4: "0x7f.1" must never reach a resolver as a name.
  if (bare.includes(".") && !bare.includes(":") && !ipaddr.IPv4.isValidFourPartDecimal(bare)) return null;
  return ipaddr.parse(bare);
}

/** Why an IP address must not be reached, or null for a public unicast address. */
export function internalAddressReason(text: string): string | null {
  const addr = parseAddress(text);
  if (!addr) return "is not an IP address";
  const reached = effectiveAddress(addr);
  if (!reached) return "is a tunnelled address whose destination cannot be checked";
  const range = reached.range();
  if (range === "unicast") return null;
  const embedded = reached !== addr ? ` (it reaches ${reached.toString()})` : "";
  return `is a ${range} address${embedded}`;
}

/** True for addresses a webhook must never reach. */
export function isInternalAddress(text: string): boolean {
  return internalAddressReason(text) !== null;
}

/** True for loopback addresses in any spelling (127/8, ::1, ::ffff:127.0.0.1, …). */
export function isLoopbackAddress(text: string): boolean {
  const addr = parseAddress(text);
  const reached = addr && effectiveAddress(addr);
  return !!reached && reached.range() === "loopback";
}

// Names that only ever mean this machine or a private network (RFC 6761, 6762, 8375 and usage).
const INTERNAL_NAME = /(^|\.)(localhost|local|localdomain|internal|intranet|lan|home\.arpa|corp)$/;

function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/\.+$/, ""); // "localhost." is localhost
}

const isIpHost = (host: string) => parseAddress(host) !== null;

/**
 * Checks a webhook URL without DNS, as at registration: scheme, credentials, literal addresses,
 * and names that can only be internal. Returns the reason it is refused, or null.
 */
export function webhookUrlProblem(rawUrl: string, options: { allowLoopbackHttp: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return "must be an absolute URL";
  }
  if (url.username || url.password) return "must not carry credentials (user:password@)";
  const host = hostOf(url);
  const ip = isIpHost(host);
  const loopback = ip ? isLoopbackAddress(host) : host === "localhost";
  if (url.protocol === "http:") {
    if (options.allowLoopbackHttp && loopback) return null; // a local development receiver
    return options.allowLoopbackHttp ? "must be https (plain http only to a loopback address, for local runs)" : "must be https";
  }
  if (url.protocol !== "https:") return "must be https";
  if (ip) {
    const reason = internalAddressReason(host);
    return reason ? `must not point at an internal address: ${url.hostname} ${reason}` : null;
  }
  if (INTERNAL_NAME.test(host)) return `must not point at an internal name: ${host}`;
  if (!host.includes(".")) return `must use a fully qualified public host name, not ${host}`;
  return null;
}

/** Delivery: the same rules, as an error. The caller still checks what a name resolves to. */
export function checkWebhookTarget(rawUrl: string, options: { allowLoopbackHttp: boolean }): URL {
  const problem = webhookUrlProblem(rawUrl, options);
  if (problem) throw new UnsafeTargetError(`the webhook URL ${problem}`);
  return new URL(rawUrl);
}

/**
 * Checks the addresses a name resolved to: every one must be public (https), or loopback for a
 * local development receiver over plain http. Throws when any is not.
 */
export function checkResolvedAddresses(host: string, addresses: string[], plainHttpToLoopback: boolean): void {
  if (addresses.length === 0) throw new UnsafeTargetError(`${host} does not resolve`);
  for (const address of addresses) {
    if (plainHttpToLoopback) {
      if (!isLoopbackAddress(address)) throw new UnsafeTargetError(`${host} resolves to ${address}, not loopback, for plain http`);
    } else {
      const reason = internalAddressReason(address);
      if (reason) throw new UnsafeTargetError(`${host} resolves to an internal address: ${address} ${reason}`);
    }
  }
}
