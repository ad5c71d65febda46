/**
 * @coalesce/client: signed requests to the Coalesce API, typed from its OpenAPI document, and
 * verification of the webhooks it sends. Every request is signed as the partner API guide's
 * Authentication section says (a fresh compact JWS per request with `htm`, `htu`, `bsh` and a
 * single-use `jti`). Depends only on jose and the platform's fetch (Node 20+, browsers, Workers).
 *
 * The platform's own tests, scripts and benchmarks use this same source (src/client/index.ts
 * re-exports it).
 */
import { compactVerify, createLocalJWKSet, importJWK, SignJWT, type CryptoKey, type JWK, type JSONWebKeySet } from "jose";
import type { components, operations, paths } from "./api.js";
import { OPERATIONS } from "./operations.js";
import type { ArgsOf, ArgsTuple, HttpMethod, OperationId, OperationResult, PathOperation, RequestOptions, ResultOf } from "./typed.js";

export { OPERATIONS } from "./operations.js";
export type {
  ArgsOf,
  ArgsTuple,
  BodyOf,
  components,
  HttpMethod,
  OperationArgs,
  OperationBody,
  OperationId,
  OperationParams,
  OperationQuery,
  OperationResult,
  operations,
  PathOperation,
  PathParamsOf,
  paths,
  QueryOf,
  RequestOptions,
  ResultOf,
} from "./typed.js";

export const TOKEN_TYPE = "coalition-request+jwt";

/** The codes the platform answers with today; a newer platform may add codes. */
export type ProblemCode = components["schemas"]["Problem"]["code"];

/** An RFC 9457 problem+json answer, as every refusal is sent. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode | (string & {});
  request_id: string;
  errors?: { path: string; message: string }[];
}

/** A 4xx or 5xx answer: `status` and the `problem` the server sent (`problem.code` says why). */
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

/** One path segment: percent-encoded, with `:` kept (`ext:room 12` → `ext:room%2012`). */
function pathSegment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ":");
}

/** `/v1/members/{member}` with `{ member: "ext:a b" }` → `/v1/members/ext:a%20b`, plus `?query`. */
export function expandTarget(template: string, params?: Record<string, unknown>, query?: Record<string, unknown>): string {
  const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined || value === null || value === "") throw new Error(`path parameter "${name}" of ${template} is missing`);
    return pathSegment(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
  }
  const qs = search.toString();
  return qs ? `${path}?${qs}` : path;
}

interface LooseArgs extends RequestOptions {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
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

  /**
   * Calls an operation of the OpenAPI document by its operationId, typed from the document:
   * `params` fill the path, `query` the query string, `body` is sent as JSON. Returns the 2xx
   * body (undefined for 204); throws ApiError with the problem otherwise.
   *
   *   const earned = await client.op("createEarn", { body: { member: "ext:guest-1", amount_minor: 4500, currency: "EUR", reference: "stay-1" } });
   */
  async op<K extends OperationId>(operationId: K, ...args: ArgsTuple<operations[K]>): Promise<OperationResult<K>> {
    return this.unwrap(await this.opResponse(operationId, ...args));
  }

  /** Like `op`, but returns the whole answer (status, headers, replayed) and does not throw on 4xx/5xx. */
  async opResponse<K extends OperationId>(
    operationId: K,
    ...args: ArgsTuple<operations[K]>
  ): Promise<ApiResponse<OperationResult<K> | Problem>> {
    const route = (OPERATIONS as Record<string, { method: string; path: string } | undefined>)[operationId];
    if (!route) throw new Error(`unknown operation "${operationId}" (see OPERATIONS for this client's operations)`);
    return this.send(route.method, route.path, args[0] as LooseArgs | undefined);
  }

  /**
   * The same, addressed by method and path template instead of operationId (`"post", "/v1/earn"`),
   * typed from the document's `paths`.
   */
  async route<P extends keyof paths, M extends HttpMethod>(
    method: M,
    path: P,
    ...args: ArgsTuple<PathOperation<P, M>>
  ): Promise<ResultOf<PathOperation<P, M>>> {
    return this.unwrap(await this.send(method.toUpperCase(), path, args[0] as LooseArgs | undefined));
  }

  private send<T>(method: string, template: string, args: LooseArgs = {}): Promise<ApiResponse<T>> {
    const { params, query, body, ...options } = args;
    return this.request<T>(method, expandTarget(template, params, query), body, options);
  }

  private unwrap<T>(res: ApiResponse<T | Problem>): T {
    if (res.status >= 400) throw new ApiError(res.status, res.body as Problem);
    if (res.status === 204 || res.status === 205) return undefined as T;
    return res.body as T;
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
  /** Points for activities other than purchases, with optional per-member caps (per UTC day, in total). */
  activity_rules?: { activity: string; points: number; per_member_daily?: number; per_member_total?: number }[];
  /** Issuance caps per UTC day: in total, and to one member. */
  limits?: { daily_points?: number; member_daily_points?: number };
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

/** The JSON body of `method` `path` (POST by default). */
export type PathBody<P extends keyof paths, M extends HttpMethod = "post"> = NonNullable<ArgsOf<PathOperation<P, M>>["body"]>;
/** The query of `method` `path` (GET by default). */
export type PathQuery<P extends keyof paths, M extends HttpMethod = "get"> = NonNullable<ArgsOf<PathOperation<P, M>>["query"]>;
/** The 2xx body of `method` `path` (POST by default). */
export type PathResult<P extends keyof paths, M extends HttpMethod = "post"> = ResultOf<PathOperation<P, M>>;

/**
 * Partner calls. Member references are ids (`mbr_…`) or `ext:<your customer reference>`.
 * Each method is the operation of the same name in the document (as `client.op(name, …)` calls it),
 * throws ApiError on a refusal, and (POSTs) takes `{ idempotencyKey }` to retry safely.
 */
export class PartnerClient extends CoalesceClient {
  constructor(options: Omit<ClientOptions, "claims">) {
    super(options);
  }

  /** Encodes a member reference for a path: `ext:room 12` → `ext:room%2012`. */
  static memberPath(member: string): string {
    return pathSegment(member);
  }

  /** Enrols your customer (200 with the same member when that external_ref is already yours). */
  enrolMember(body: PathBody<"/v1/members">, options?: RequestOptions): Promise<PathResult<"/v1/members">> {
    return this.route("post", "/v1/members", { body, ...options });
  }
  getMember(member: string): Promise<PathResult<"/v1/members/{member}", "get">> {
    return this.route("get", "/v1/members/{member}", { params: { member } });
  }
  quoteEarn(body: PathBody<"/v1/earn/quote">): Promise<PathResult<"/v1/earn/quote">> {
    return this.route("post", "/v1/earn/quote", { body });
  }
  createEarn(body: PathBody<"/v1/earn">, options?: RequestOptions): Promise<PathResult<"/v1/earn">> {
    return this.route("post", "/v1/earn", { body, ...options });
  }
  createBurn(body: PathBody<"/v1/burn">, options?: RequestOptions): Promise<PathResult<"/v1/burn">> {
    return this.route("post", "/v1/burn", { body, ...options });
  }
  createHold(body: PathBody<"/v1/holds">, options?: RequestOptions): Promise<PathResult<"/v1/holds">> {
    return this.route("post", "/v1/holds", { body, ...options });
  }
  captureHold(holdId: string, body: PathBody<"/v1/holds/{hold_id}/capture"> = {}, options?: RequestOptions): Promise<PathResult<"/v1/holds/{hold_id}/capture">> {
    return this.route("post", "/v1/holds/{hold_id}/capture", { params: { hold_id: holdId }, body, ...options });
  }
  voidHold(holdId: string, options?: RequestOptions): Promise<PathResult<"/v1/holds/{hold_id}/void">> {
    return this.route("post", "/v1/holds/{hold_id}/void", { params: { hold_id: holdId }, body: {}, ...options });
  }
  createReversal(transactionId: string, body: PathBody<"/v1/transactions/{transaction_id}/reversals">, options?: RequestOptions): Promise<PathResult<"/v1/transactions/{transaction_id}/reversals">> {
    return this.route("post", "/v1/transactions/{transaction_id}/reversals", { params: { transaction_id: transactionId }, body, ...options });
  }
  listTransactions(query: PathQuery<"/v1/transactions"> = {}): Promise<PathResult<"/v1/transactions", "get">> {
    return this.route("get", "/v1/transactions", { query });
  }
  getTransaction(transactionId: string): Promise<PathResult<"/v1/transactions/{transaction_id}", "get">> {
    return this.route("get", "/v1/transactions/{transaction_id}", { params: { transaction_id: transactionId } });
  }
  /** A single-use code another brand redeems with `createLink` (with the member's consent). */
  createLinkCode(member: string, options?: RequestOptions): Promise<PathResult<"/v1/members/{member}/link-codes">> {
    return this.route("post", "/v1/members/{member}/link-codes", { params: { member }, body: {}, ...options });
  }
  createLink(body: PathBody<"/v1/links">, options?: RequestOptions): Promise<PathResult<"/v1/links">> {
    return this.route("post", "/v1/links", { body, ...options });
  }
  deleteLink(member: string): Promise<PathResult<"/v1/members/{member}/link", "delete">> {
    return this.route("delete", "/v1/members/{member}/link", { params: { member } });
  }
  createPortalSession(member: string, options?: RequestOptions): Promise<PathResult<"/v1/members/{member}/portal-sessions">> {
    return this.route("post", "/v1/members/{member}/portal-sessions", { params: { member }, body: {}, ...options });
  }
  /** A single-use code (15 minutes) your member hands a sender to receive points. */
  createReceiveCode(member: string, options?: RequestOptions): Promise<PathResult<"/v1/members/{member}/receive-codes">> {
    return this.route("post", "/v1/members/{member}/receive-codes", { params: { member }, body: {}, ...options });
  }
  /** Sends points from your member (the sender) to the holder of a receive code. */
  createTransfer(member: string, body: PathBody<"/v1/members/{member}/transfers">, options?: RequestOptions): Promise<PathResult<"/v1/members/{member}/transfers">> {
    return this.route("post", "/v1/members/{member}/transfers", { params: { member }, body, ...options });
  }
  /** Your member's one stable referral code. */
  getReferralCode(member: string): Promise<PathResult<"/v1/members/{member}/referral-code", "get">> {
    return this.route("get", "/v1/members/{member}/referral-code", { params: { member } });
  }
  /** Points for an activity under your activity_rules (a review, a survey with its score…). */
  createActivity(body: PathBody<"/v1/activities">, options?: RequestOptions): Promise<PathResult<"/v1/activities">> {
    return this.route("post", "/v1/activities", { body, ...options });
  }
}

/** A webhook event as the platform POSTs it. */
export interface WebhookEvent {
  id: string;
  type: string;
  partner_id: string;
  created_at: string;
  data: unknown;
}

/** The platform's public keys (GET /.well-known/jwks.json): fetch once and cache; refetch on an unknown `kid`. */
export async function fetchJwks(baseUrl: string, fetchImpl: (input: string) => Promise<Response> = (i) => fetch(i)): Promise<JSONWebKeySet> {
  const res = await fetchImpl(`${baseUrl.replace(/\/+$/, "")}/.well-known/jwks.json`);
  if (!res.ok) throw new Error(`GET /.well-known/jwks.json answered ${res.status}`);
  return (await res.json()) as JSONWebKeySet;
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
}): Promise<WebhookEvent> {
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
  const event = JSON.parse(new TextDecoder().decode(bytes)) as WebhookEvent;
  if (event.id !== claims.jti || event.partner_id !== options.partnerId) throw new Error("event id or partner does not match the signature");
  return event;
}
