/**
 * Verifies a signed request exactly as the spec's Authentication section says: the token's
 * structure (token.ts), the key of its issuer (looked up on every request, so revocation is
 * immediate), the signature and claims with jose (every option pinned), then method, target
 * and body hash against the request as it arrived.
 */
import { sql } from "drizzle-orm";
import { errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK } from "jose";
import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { ErrorCode } from "../errors.js";
import { bodyHash } from "../lib/encoding.js";
import type { Caller, Requirement, StaffRole } from "./caller.js";
import { ALLOWED_ALGS, CLOCK_SKEW_SECONDS, MAX_LIFETIME_SECONDS, parseToken, refuse, TOKEN_TYPE, type SignedRequest, type VerifiedToken } from "./token.js";

export type { SignedRequest, VerifiedToken };

/** Partners without a configured limit get this many requests a minute. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6_000;

export interface VerifyDeps {
  config: Config;
  db: () => Database;
  now: () => Date;
}

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

/** How a protected route verifies its request: `authenticate`, unless an entry injects another. */
export type RequestVerifier = (request: SignedRequest, requirement: Requirement, deps: VerifyDeps) => Promise<VerifiedToken>;

