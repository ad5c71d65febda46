/**
 * A small typed client for the Coalesce API that signs every request as the spec's
 * Authentication section says. Used by the tests, the demo CLI and the benchmarks; partners
 * may copy it. Depends only on jose and the platform's fetch.
 */
import { compactVerify, createLocalJWKSet, importJWK, SignJWT, type CryptoKey, type JWK, type JSONWebKeySet } from "jose";

export const TOKEN_TYPE = "coalition-request+jwt";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.code}: ${problem.detail}`);
  }
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  /** True when the server replayed a stored answer for this Idempotency-Key. */
  replayed: boolean;
}

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8787 — no trailing slash needed. */
  baseUrl: string;
  /** Partner id, or the operator issuer for staff. */
  issuer: string;
  /** Private JWK with `kid` and `alg` (ES256 or EdDSA). */
  privateJwk: JWK;
  audience?: string;
  /** Seconds from iat to exp; the server accepts at most 300. */
  tokenLifetimeSeconds?: number;
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Extra claims on every token (staff: sub and role). */
  claims?: Record<string, unknown>;
  /** Seconds since the epoch; override to test clock skew. */
  clock?: () => number;
}

export interface RequestOptions {
  idempotencyKey?: string;
  headers?: Record<string, string>;
  /** Override or remove claims for one request (tests of the verifier use this). */
  claims?: Record<string, unknown>;
}

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function bodyHash(body: Uint8Array): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", body as BufferSource)));
}

export function randomId(bytes = 18): string {
  const raw = new Uint8Array(bytes);
  crypto.getRandomValues(raw);
  return base64url(raw);
}

export class CoalesceClient {
  private keyPromise: Promise<CryptoKey> | undefined;
  private readonly fetchImpl: NonNullable<ClientOptions["fetch"]>;

  constructor(readonly options: ClientOptions) {
    if (!options.privateJwk.kid || !options.privateJwk.alg) throw new Error("privateJwk needs kid and alg");
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private key(): Promise<CryptoKey> {
    this.keyPromise ??= importJWK(this.options.privateJwk, this.options.privateJwk.alg).then((k) => k as CryptoKey);
    return this.keyPromise;
  }

  /** A compact JWS for one request: method, path+query exactly as sent, and the body's hash. */
  async sign(method: string, target: string, body: Uint8Array, overrides: Record<string, unknown> = {}): Promise<string> {
    const now = this.options.clock?.() ?? Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: this.options.issuer,
      aud: this.options.audience ?? "coalition-api",
      iat: now,
      exp: now + (this.options.tokenLifetimeSeconds ?? 60),
      jti: randomId(),
      htm: method.toUpperCase(),
      htu: target,
      bsh: await bodyHash(body),
      ...this.options.claims,
      ...overrides,
    };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.options.privateJwk.alg!, kid: this.options.privateJwk.kid!, typ: TOKEN_TYPE })
      .sign(await this.key());
  }

  /**
   * Sends one signed request. `body` may be an object (sent as JSON), a string or bytes (sent
   * as they are). POSTs get a random Idempotency-Key unless one is given: pass your own to retry safely.
   */
  async request<T = unknown>(method: string, target: string, body?: unknown, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const bytes =
      body === undefined
        ? new Uint8Array()
        : body instanceof Uint8Array
          ? body
          : new TextEncoder().encode(typeof body === "string" ? body : JSON.stringify(body));
    const headers: Record<string, string> = {
      authorization: `Bearer ${await this.sign(method, target, bytes, options.claims)}`,
      ...(bytes.length > 0 ? { "content-type": "application/json" } : {}),
    };
    const idempotencyKey = options.idempotencyKey ?? (method.toUpperCase() === "POST" ? randomId() : undefined);
    if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
    Object.assign(headers, options.headers);
    const res = await this.fetchImpl(this.options.baseUrl.replace(/\/+$/, "") + target, {
      method,
      headers,
      body: bytes.length > 0 ? (bytes as BodyInit) : undefined,
    });
    const text = await res.text();
    const parsed = text && /json/.test(res.headers.get("content-type") ?? "") ? (JSON.parse(text) as T) : (text as T);
    return { status: res.status, headers: res.headers, body: parsed, replayed: res.headers.get("idempotent-replayed") === "true" };
  }

  /** Like `request`, but returns the body of a 2xx answer and throws ApiError otherwise. */
  async call<T>(method: string, target: string, body?: unknown, options?: RequestOptions): Promise<T> {
    const res = await this.request<T>(method, target, body, options);
    if (res.status >= 400) throw new ApiError(res.status, res.body as unknown as Problem);
    return res.body;
  }
}

export interface PartnerDocument {
  id: string;
  name: string;
  category: string;
  status?: "active" | "suspended";
  settlement: {
    currency: string;
    billing: "issuance" | "redemption";
    issue_price_per_point: string;
    redemption_price_per_point: string;
    period: "daily" | "weekly" | "monthly";
    prepaid_points?: number;
    credit_limit?: string;
  };
  earn_rules: { currency: string; category: string; points_per_unit: string }[];
  allow_explicit_points?: boolean;
  rate_limit_per_minute?: number;
  webhook_url?: string;
  keys: JWK[];
}

/** Staff calls: admin (partners, keys) and finance (settlement, reports). */
export class StaffClient extends CoalesceClient {
  constructor(options: Omit<ClientOptions, "claims" | "issuer"> & { issuer?: string; sub: string; role: "admin" | "finance" }) {
    super({ ...options, issuer: options.issuer ?? "operator", claims: { sub: options.sub, role: options.role } });
  }

  createPartner(doc: PartnerDocument, options?: RequestOptions) {
    return this.call<PartnerDocument & { created_at: string }>("POST", "/v1/admin/partners", doc, options);
  }
  updatePartner(partnerId: string, patch: Partial<Omit<PartnerDocument, "id" | "keys">>) {
    return this.call<PartnerDocument>("PATCH", `/v1/admin/partners/${encodeURIComponent(partnerId)}`, patch);
  }
  addKey(partnerId: string, jwk: JWK, options?: RequestOptions) {
    return this.call<{ kid: string; status: string }>("POST", `/v1/admin/partners/${encodeURIComponent(partnerId)}/keys`, { jwk }, options);
  }
  revokeKey(partnerId: string, kid: string) {
    return this.call<string>("DELETE", `/v1/admin/partners/${encodeURIComponent(partnerId)}/keys/${encodeURIComponent(kid)}`);
  }
}

/** Partner calls. Member references are ids (`mbr_…`) or `ext:<your customer reference>`. */
export class PartnerClient extends CoalesceClient {
  constructor(options: Omit<ClientOptions, "claims">) {
    super(options);
  }

  /** Encodes a member reference for a path: `ext:room 12` → `ext:room%2012`. */
  static memberPath(member: string): string {
    return encodeURIComponent(member).replace(/%3A/gi, ":");
  }
}

/**
 * For webhook receivers: verifies `Coalition-Signature` against the platform's JWKS
 * (GET /.well-known/jwks.json, cache it) and the exact body bytes received. Returns the event;
 * throws if the signature, audience, issuer, time or body hash do not hold. Dedupe by `id`.
 */
export async function verifyWebhook(options: {
  body: Uint8Array | string;
  signature: string | null | undefined;
  jwks: JSONWebKeySet;
  /** Your partner id: the `aud` the platform signs for. */
  partnerId: string;
  /** The platform's issuer (its API audience, default "coalition-api"). */
  issuer?: string;
  clockToleranceSeconds?: number;
  now?: () => number;
}): Promise<{ id: string; type: string; partner_id: string; created_at: string; data: unknown }> {
  if (!options.signature) throw new Error("missing Coalition-Signature");
  const { payload, protectedHeader } = await compactVerify(options.signature, createLocalJWKSet(options.jwks), { algorithms: ["ES256", "EdDSA"] });
  if (protectedHeader.typ !== "coalition-event+jws") throw new Error("wrong signature type");
  const claims = JSON.parse(new TextDecoder().decode(payload)) as { iss: string; aud: string; jti: string; iat: number; exp: number; bsh: string };
  const now = options.now?.() ?? Math.floor(Date.now() / 1000);
  const skew = options.clockToleranceSeconds ?? 60;
  if (claims.iss !== (options.issuer ?? "coalition-api")) throw new Error("wrong issuer");
  if (claims.aud !== options.partnerId) throw new Error("not addressed to this partner");
  if (typeof claims.exp !== "number" || claims.exp + skew < now || claims.iat - skew > now) throw new Error("signature outside its validity");
  const bytes = typeof options.body === "string" ? new TextEncoder().encode(options.body) : options.body;
  if (claims.bsh !== (await bodyHash(bytes))) throw new Error("body does not match the signature");
  const event = JSON.parse(new TextDecoder().decode(bytes)) as { id: string; type: string; partner_id: string; created_at: string; data: unknown };
  if (event.id !== claims.jti || event.partner_id !== options.partnerId) throw new Error("event id or partner does not match the signature");
  return event;
}
