/**
 * The signed request token's structure, read before any key is looked up: headers allowed,
 * claims present and typed, sizes bounded. Anything off is `malformed_token` (or the spec's more
 * specific code), and nothing here touches the database.
 */
import { decodeJwt, decodeProtectedHeader } from "jose";
import { DomainError, type ErrorCode } from "../errors.js";
import { MAX_AUTHORIZATION_BYTES } from "../http/limits.js";
import { unstorableReason } from "../lib/text.js";
import type { Caller } from "./caller.js";

export const TOKEN_TYPE = "coalition-request+jwt";
export const ALLOWED_ALGS = ["ES256", "EdDSA"] as const;
export const CLOCK_SKEW_SECONDS = 60;
export const MAX_LIFETIME_SECONDS = 300;
const FORBIDDEN_HEADERS = ["jku", "x5u", "x5c", "jwk", "crit", "zip"] as const;

export interface SignedRequest {
  authorization: string | undefined;
  method: string;
  /** Path and query exactly as sent on the wire, percent-encoding preserved. */
  target: string;
  body: Uint8Array;
}


export const refuse = (code: ErrorCode, detail: string): never => {
  throw new DomainError(code, detail);
};

export interface Claims {
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
export function parseToken(authorization: string | undefined): { token: string; kid: string; alg: string; claims: Claims } {
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
