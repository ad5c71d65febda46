import { sql } from "drizzle-orm";
import { spendTokenSql } from "../ledger/sql.js";
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK } from "jose";
import type { Config } from "../config.js";
import type { Database, Executor } from "../db/database.js";
import { DomainError, type ErrorCode } from "../errors.js";
import { MAX_AUTHORIZATION_BYTES } from "../http/limits.js";
import { bodyHash } from "../lib/encoding.js";
import { unstorableReason } from "../lib/text.js";
import type { Caller, Requirement, StaffRole } from "./caller.js";

export const TOKEN_TYPE = "coalition-request+jwt";
export const ALLOWED_ALGS = ["ES256", "EdDSA"] as const;
export const CLOCK_SKEW_SECONDS = 60;
export const MAX_LIFETIME_SECONDS = 300;
const FORBIDDEN_HEADERS = ["jku", "x5u", "x5c", "jwk", "crit", "zip"] as const;
/** Partners without a configured limit get this many requests a minute. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6_000;

export interface SignedRequest {
  authorization: string | undefined;
  method: string;
  /** Path and query exactly as sent on the wire, percent-encoding preserved. */
  target: string;
  body: Uint8Array;
}

export interface VerifyDeps {
  config: Config;
  db: () => Database;
  now: () => Date;
}

const refuse = (code: ErrorCode, detail: string): never => {
  throw new DomainError(code, detail);
};

interface KeyRecord {
  alg: string;
  jwk: JWK;
  /** Partner tokens only. */
  partnerStatus?: string;
  rateLimitPerMinute?: number | null;
}

// Imported CryptoKeys by key material. Safe to keep: whether a key may still be used is read
// from the database on every request; this only saves re-parsing the same JWK.
const importedKeys = new Map<string, CryptoKey>();
async function cryptoKey(jwk: JWK, alg: string): Promise<CryptoKey> {
  const id = `${alg}:${jwk.crv}:${jwk.x}:${jwk.y ?? ""}`;
  let key = importedKeys.get(id);
  if (!key) {
    key = (await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, alg)) as CryptoKey;
    if (importedKeys.size >= 1_000) importedKeys.delete(importedKeys.keys().next().value!);
    importedKeys.set(id, key);
  }
  return key;
}

interface Claims {
  iss: string;
  aud: string | string[];
  iat: number;
  exp: number;
  jti: string;
  htm: string;
  htu: string;
  bsh: string;
  sub?: string;
  role?: string;
}

/** Structure first: anything missing or of the wrong type is `malformed_token`, before any key is looked up. */
function parseToken(authorization: string | undefined): { token: string; kid: string; alg: string; claims: Claims } {
  if (authorization === undefined || authorization === "") refuse("missing_token", "Send Authorization: Bearer <signed request token>.");
  if (authorization!.length > MAX_AUTHORIZATION_BYTES) refuse("malformed_token", "The Authorization header is over 8 KiB.");
  const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization!);
  if (!match) refuse("malformed_token", "The Authorization header must be `Bearer <compact JWS>`.");
  const token = match![1]!;
  const parts = token.split(".");
  if (parts.length === 5) refuse("malformed_token", "Encrypted tokens (JWE) are not accepted; sign the request (JWS).");
  if (parts.length !== 3 || parts[0] === "" || parts[1] === "") refuse("malformed_token", "The token is not a compact JWS.");

  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    payload = decodeJwt(token) as Record<string, unknown>;
  } catch {
    return refuse("malformed_token", "The token's header or claims are not valid base64url JSON.");
  }
  for (const name of FORBIDDEN_HEADERS)
    if (name in header) refuse("malformed_token", `The "${name}" header is not accepted; keys are registered in advance.`);
  if (typeof header.alg !== "string" || !(ALLOWED_ALGS as readonly string[]).includes(header.alg))
    refuse("algorithm_not_allowed", `Only ${ALLOWED_ALGS.join(" and ")} are accepted.`);
  if (header.typ !== TOKEN_TYPE) refuse("type_invalid", `The "typ" header must be "${TOKEN_TYPE}".`);
  if (typeof header.kid !== "string" || header.kid.length === 0 || header.kid.length > 128 || unstorableReason(header.kid))
    refuse("malformed_token", 'The "kid" header is required: 1–128 characters of valid text.');
  if (parts[2] === "") refuse("malformed_token", "The token has no signature.");

  const str = (name: string, max = 2_048) => {
    const v = payload[name];
    if (typeof v !== "string" || v.length === 0 || v.length > max) refuse("malformed_token", `The "${name}" claim is required and must be a string.`);
    // Claims reach the database (iss, jti): text it cannot store is malformed, never a 500.
    if (unstorableReason(v as string)) refuse("malformed_token", `The "${name}" claim must be valid text without NUL characters.`);
    return v as string;
  };
  const num = (name: string) => {
    const v = payload[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) refuse("malformed_token", `The "${name}" claim is required and must be an integer (seconds).`);
    return v as number;
  };
  const aud = payload.aud;
  if (!(typeof aud === "string" || (Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === "string"))))
    refuse("malformed_token", 'The "aud" claim is required.');
  const claims: Claims = {
    iss: str("iss", 255),
    aud: aud as string | string[],
    iat: num("iat"),
    exp: num("exp"),
    jti: str("jti", 128),
    htm: str("htm", 16),
    htu: str("htu", 8_192),
    bsh: str("bsh", 64),
  };
  if (claims.jti.length < 16) refuse("malformed_token", 'The "jti" claim must be 16–128 characters.');
  if (payload.sub !== undefined) claims.sub = str("sub", 255);
  if (payload.role !== undefined) claims.role = str("role", 32);
  return { token, kid: header.kid as string, alg: header.alg as string, claims };
}

async function lookupKey(deps: VerifyDeps, iss: string, kid: string): Promise<{ staff: boolean; key: KeyRecord }> {
  if (iss === deps.config.operatorIssuer) {
    const jwk = deps.config.operatorJwks?.keys.find((k) => k.kid === kid) as JWK | undefined;
    if (!jwk || typeof jwk.alg !== "string") refuse("unknown_key", `No active staff key "${kid}".`);
    return { staff: true, key: { alg: jwk!.alg!, jwk: jwk! } };
  }
  // One round trip: the partner and, if registered and active, the key.
  const result = (await deps
    .db()
    .execute(
      sql`select p.status as partner_status, p.rate_limit_per_minute, k.alg, k.jwk, k.status as key_status
          from partners p left join partner_keys k on k.partner_id = p.id and k.kid = ${kid}
          where p.id = ${iss}`,
    )) as unknown as { rows: { partner_status: string; rate_limit_per_minute: number | null; alg: string | null; jwk: JWK | null; key_status: string | null }[] };
  const row = result.rows[0];
  if (!row) return refuse("issuer_invalid", `"${iss}" is not a registered partner.`);
  if (!row.alg || !row.jwk || row.key_status !== "active") return refuse("unknown_key", `No active key "${kid}" for ${iss}.`);
  return { staff: false, key: { alg: row.alg, jwk: row.jwk, partnerStatus: row.partner_status, rateLimitPerMinute: row.rate_limit_per_minute } };
}

function joseCode(err: unknown): ErrorCode {
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "signature_invalid";
  if (err instanceof joseErrors.JWTExpired) return "token_expired";
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "algorithm_not_allowed";
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "iat":
      case "nbf":
        return "token_not_yet_valid";
      case "aud":
        return "audience_invalid";
      case "iss":
        return "issuer_invalid";
      case "typ":
        return "type_invalid";
      default:
        return "malformed_token";
    }
  }
  return "malformed_token";
}

/** A verified token not yet spent: `consumeToken` records its jti when the request is about to act. */
export interface VerifiedToken {
  caller: Caller;
  issuer: string;
  jti: string;
  exp: number;
  /** Requests per minute for partners; null for staff. */
  rateLimitPerMinute: number | null;
  verifiedAt: Date;
}

/**
 * Verifies a signed request exactly as the spec's Authentication section says. Writes nothing:
 * the jti is spent by `consumeToken`, inside the request's own transaction where it has one, so a
 * request refused for bad input (which a replay would repeat exactly) leaves no trace.
 */
export async function authenticate(request: SignedRequest, requirement: Requirement, deps: VerifyDeps): Promise<VerifiedToken> {
  const { token, kid, alg, claims } = parseToken(request.authorization);
  if (claims.exp - claims.iat > MAX_LIFETIME_SECONDS)
    refuse("lifetime_too_long", `exp − iat must be at most ${MAX_LIFETIME_SECONDS} seconds.`);

  const { staff, key } = await lookupKey(deps, claims.iss, kid);
  if (alg !== key.alg) refuse("algorithm_not_allowed", `Key "${kid}" is registered for ${key.alg}.`);

  const now = deps.now();
  try {
    await jwtVerify(token, await cryptoKey(key.jwk, key.alg), {
      algorithms: [key.alg],
      typ: TOKEN_TYPE,
      issuer: claims.iss,
      audience: deps.config.apiAudience,
      clockTolerance: CLOCK_SKEW_SECONDS,
      maxTokenAge: MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS,
      requiredClaims: ["iss", "aud", "iat", "exp", "jti"],
      currentDate: now,
    });
  } catch (err) {
    const code = joseCode(err);
    refuse(code, code === "signature_invalid" ? "The signature does not verify with the registered key." : `The token was refused (${code}).`);
  }
  if (claims.iat > Math.floor(now.getTime() / 1000) + CLOCK_SKEW_SECONDS) refuse("token_not_yet_valid", "iat is in the future.");

  if (claims.htm !== request.method.toUpperCase()) refuse("request_mismatch", `htm is "${claims.htm}" but the request is ${request.method}.`);
  if (claims.htu !== request.target) refuse("request_mismatch", "htu does not match the request path and query as sent.");
  if (claims.bsh !== (await bodyHash(request.body))) refuse("body_mismatch", "bsh does not match the SHA-256 of the request body.");

  let caller: Caller;
  if (staff) {
    const role = claims.role;
    if (typeof claims.sub !== "string") refuse("malformed_token", 'Staff tokens need a "sub" claim.');
    if (role !== "admin" && role !== "finance") return refuse("malformed_token", 'Staff tokens need a "role" of "admin" or "finance".');
    if (requirement.kind !== "staff" || requirement.role !== role)
      refuse("role_forbidden", requirement.kind === "staff" ? `This route needs the ${requirement.role} role.` : "Staff tokens cannot call partner routes.");
    caller = { kind: "staff", issuer: claims.iss, sub: claims.sub!, role: role as StaffRole, kid, jti: claims.jti };
  } else {
    if (requirement.kind !== "partner") refuse("role_forbidden", "Partner tokens cannot call staff routes.");
    if (key.partnerStatus !== "active") refuse("partner_suspended", `Partner ${claims.iss} is suspended.`);
    caller = { kind: "partner", partnerId: claims.iss, kid, jti: claims.jti };
  }

  return {
    caller,
    issuer: claims.iss,
    jti: claims.jti,
    exp: claims.exp,
    rateLimitPerMinute: staff ? null : (key.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE),
    verifiedAt: now,
  };
}

/** Rows per window for a limit: one (exact) for low limits, a few for high ones (no single hot row). */
export function rateShards(limitPerMinute: number): number {
  return Math.min(8, Math.max(1, Math.ceil(limitPerMinute / 1_200)));
}

/** The token's fields as the ledger's SQL (`ledger_spend_token`) takes them. */
export function tokenContext(token: VerifiedToken): Record<string, unknown> {
  const { caller, issuer, jti, exp, rateLimitPerMinute: limit, verifiedAt: now } = token;
  const windowStartMs = Math.floor(now.getTime() / 60_000) * 60_000;
  const shards = limit === null ? 1 : rateShards(limit);
  const ctx: Record<string, unknown> = {
    issuer,
    jti,
    jti_expires_at: new Date((exp + CLOCK_SKEW_SECONDS) * 1000).toISOString(),
    partner_id: caller.kind === "partner" ? caller.partnerId : null,
  };
  if (limit !== null) {
    Object.assign(ctx, {
      rate_limit: limit,
      shards,
      shard: Math.floor(Math.random() * shards),
      window_start: new Date(windowStartMs).toISOString(),
      retry_after: Math.max(1, Math.ceil((windowStartMs + 60_000 - now.getTime()) / 1000)),
    });
  }
  return ctx;
}

/**
 * Spends the token's jti (refused if already spent, on any process) and counts the request
 * against the partner's per-minute limit, in one statement on `db`.
 */
export async function consumeToken(db: Executor, token: VerifiedToken): Promise<void> {
  await spendTokenSql(db, tokenContext(token));
}

/** How a protected route verifies its request: `authenticate`, unless an entry injects another. */
export type RequestVerifier = (request: SignedRequest, requirement: Requirement, deps: VerifyDeps) => Promise<VerifiedToken>;

/**
 * The token's structure checked and its claims read, with no key lookup and no signature check.
 * Only `bench/server.ts` uses it (injected as its verifier), to measure what verification costs.
 */
export function parseTokenUnverified(request: SignedRequest, now: Date): VerifiedToken {
  const { kid, claims } = parseToken(request.authorization);
  return {
    caller: { kind: "partner", partnerId: claims.iss, kid, jti: claims.jti },
    issuer: claims.iss,
    jti: claims.jti,
    exp: claims.exp,
    rateLimitPerMinute: null,
    verifiedAt: now,
  };
}
