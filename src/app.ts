import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import type { Context } from "hono";
import type { AppEnv } from "./http/env.js";
import { errorToResponse, problemResponse, STATUS_BY_CODE } from "./http/problem.js";
import { targetName, validationError } from "./http/validation.js";
import { findUnstorableText } from "./lib/text.js";
import { validationFailed } from "./errors.js";
import { allowedMethodsFinder } from "./http/method-not-allowed.js";
import { MAX_BODY_BYTES } from "./http/limits.js";
import { newId } from "./lib/ids.js";
import { linkBase } from "./config.js";
import { declaredCodes, ProblemSchema } from "./http/schemas.js";
import type { ErrorCode } from "./errors.js";
import type { ServicesProvider } from "./services.js";
import { authenticate, type RequestVerifier } from "./auth/verify.js";
import { registerHealth } from "./routes/health.js";
import { registerDocs } from "./routes/docs.js";
import { registerWellKnown } from "./routes/well-known.js";
import { registerAdminPartners } from "./routes/admin-partners.js";
import { registerMembers } from "./routes/members.js";
import { registerAdminMembers } from "./routes/admin-members.js";
import { registerLedger } from "./routes/ledger.js";
import { registerAdminPromotions } from "./routes/admin-promotions.js";
import { registerSettlement } from "./routes/settlement.js";
import { registerReports } from "./routes/reports.js";
import { registerStaff } from "./routes/staff.js";
import { registerAdminWebhooks } from "./routes/admin-webhooks.js";
import { registerRewards } from "./routes/rewards.js";
import { registerActivities } from "./routes/activities.js";
import { registerSelfService } from "./routes/self-service.js";
import { registerInsights } from "./routes/insights.js";
import { registerPortal } from "./web/portal.js";
import { registerFinance } from "./web/finance.js";
import { registerProblemPages } from "./web/problems.js";
import { registerGuide } from "./web/guide.js";

export const API_VERSION = "1.0.0";

export interface AppOptions {
  services: ServicesProvider;
  /** Workers hand each request an execution context to wait on; Node does not. */
  runtime?: "workers" | "node";
  /**
   * How signed requests are verified; `authenticate` unless given. Only the benchmark server
   * passes another (to measure what verification costs): no configuration reaches this.
   */
  verifyRequest?: RequestVerifier;
  /** Extra routes an entry mounts before the API (Node serves the docs' static files this way). */
  mountBefore?: (app: OpenAPIHono<AppEnv>) => void;
}

/**
 * Each operation's id, read as the method a generated client gets (`createEarn`,
 * `listTransactions`). A route missing here fails the document test, so none falls back to a
 * generated name.
 */
export const OPERATION_IDS: Record<string, string> = {
  "get /health": "getHealth",
  "get /.well-known/jwks.json": "getPlatformKeys",
  "post /v1/admin/partners": "createPartner",
  "patch /v1/admin/partners/{partner_id}": "updatePartner",
  "post /v1/admin/partners/{partner_id}/keys": "addPartnerKey",
  "delete /v1/admin/partners/{partner_id}/keys/{kid}": "revokePartnerKey",
  "post /v1/admin/partners/{partner_id}/funding": "changePartnerFunding",
  "post /v1/admin/partners/{partner_id}/prepaid-blocks": "addPrepaidBlock",
  "post /v1/admin/members/{member_id}/erasure": "eraseMember",
  "post /v1/admin/promotions": "createPromotion",
  "get /v1/admin/promotions/{promotion_id}": "getPromotion",
  "get /v1/admin/webhooks/dead": "listDeadWebhooks",
  "post /v1/admin/webhooks/{event_id}/redeliver": "redeliverWebhook",
  "post /v1/members": "enrolMember",
  "get /v1/members/{member}": "getMember",
  "post /v1/members/{member}/link-codes": "createLinkCode",
  "post /v1/links": "createLink",
  "delete /v1/members/{member}/link": "deleteLink",
  "post /v1/members/{member}/portal-sessions": "createPortalSession",
  "post /v1/earn/quote": "quoteEarn",
  "post /v1/earn": "createEarn",
  "post /v1/burn": "createBurn",
  "post /v1/holds": "createHold",
  "post /v1/holds/{hold_id}/capture": "captureHold",
  "post /v1/holds/{hold_id}/void": "voidHold",
  "post /v1/transactions/{transaction_id}/reversals": "createReversal",
  "get /v1/transactions": "listTransactions",
  "get /v1/transactions/{transaction_id}": "getTransaction",
  "post /v1/settlement-runs": "createSettlementRun",
  "get /v1/settlement-runs/{run_id}": "getSettlementRun",
  "post /v1/settlement-runs/{run_id}/finalize": "finalizeSettlementRun",
  "get /v1/settlement-runs/{run_id}/statements.csv": "getSettlementRunCsv",
  "get /v1/statements": "listStatements",
  "get /v1/statements/{statement_id}": "getStatement",
  "get /v1/reports/liability": "getLiabilityReport",
  "get /v1/reports/flows": "getFlowsReport",
  "get /v1/reports/partners": "getPartnersReport",
  "post /v1/staff/sign-in-links": "createStaffSignInLink",
  "post /v1/admin/rewards": "createReward",
  "patch /v1/admin/rewards/{reward_id}": "updateReward",
  "get /v1/rewards": "listRewards",
  "post /v1/redemptions": "createRedemption",
  "get /v1/redemptions": "listRedemptions",
  "get /v1/redemptions/{redemption_id}": "getRedemption",
  "post /v1/redemptions/{redemption_id}/cancel": "cancelRedemption",
  "post /v1/redemptions/{redemption_id}/fulfil": "fulfilRedemption",
  "post /v1/redemptions/{redemption_id}/reject": "rejectRedemption",
  "post /v1/vouchers/{code}/use": "useVoucher",
  "post /v1/members/{member}/receive-codes": "createReceiveCode",
  "post /v1/members/{member}/transfers": "createTransfer",
  "get /v1/members/{member}/referral-code": "getReferralCode",
  "post /v1/activities": "createActivity",
  "get /v1/keys": "listKeys",
  "post /v1/keys": "addKey",
  "delete /v1/keys/{kid}": "revokeKey",
  "put /v1/webhook": "setWebhook",
  "post /v1/webhook/test": "pingWebhook",
  "get /v1/webhook/deliveries": "listDeliveries",
  "get /v1/insights": "getInsights",
  "get /v1/reports/engagement": "getEngagementReport",
};

type DocResponse = { description: string; content?: unknown; headers?: Record<string, unknown> };
/** Response headers, declared once as components and referenced from every answer that carries them. */
const seconds = (description: string) => ({ description, schema: { type: "integer", format: "int32", minimum: 1, maximum: 86_400 } });
const HEADER_COMPONENTS = {
  RequestId: { description: "This request's id (also in problem bodies as request_id).", schema: { type: "string", pattern: "^req_[0-9a-z]{26}$", maxLength: 30 } },
  RetryAfter: seconds("Seconds to wait before retrying."),
  IdempotentReplayed: { description: "`true` when this is the stored answer of an earlier request with the same key.", schema: { type: "string", enum: ["true"] } },
  RateLimitLimit: { description: "Your requests allowed per minute.", schema: { type: "integer", format: "int32", minimum: 1, maximum: 1_000_000 } },
  RateLimitReset: seconds("Seconds until the current one-minute window ends."),
} as const;
const headerRef = (name: keyof typeof HEADER_COMPONENTS) => ({ $ref: `#/components/headers/${name}` });

const AUTH_CODES: ErrorCode[] = [
  "missing_token", "malformed_token", "unknown_key", "algorithm_not_allowed", "signature_invalid", "token_expired",
  "token_not_yet_valid", "lifetime_too_long", "issuer_invalid", "audience_invalid", "type_invalid", "replayed_token",
  "request_mismatch", "body_mismatch", "role_forbidden",
];

interface RouteShape {
  security?: Record<string, unknown>[];
  request?: { body?: unknown; params?: unknown; query?: unknown; headers?: { shape?: Record<string, unknown> } };
}

/** The codes any route of this shape can answer with, whatever its own verbs do. */
function codesEveryRouteGives(route: RouteShape): ErrorCode[] {
  const scheme = Object.keys(route.security?.[0] ?? {})[0];
  const request = route.request ?? {};
  const idempotent = !!request.headers?.shape && "idempotency-key" in request.headers.shape;
  // The body limit and the database are in front of every route.
  // (and 500 internal_error is what any bug would answer: declared, never expected).
  const codes: ErrorCode[] = ["payload_too_large", "service_unavailable", "internal_error"];
  if (request.body || request.params || request.query || request.headers) codes.push("validation_failed");
  if (request.body) codes.push("malformed_request", "unsupported_media_type");
  if (scheme) codes.push(...AUTH_CODES);
  if (scheme === "PartnerSignature") codes.push("partner_suspended", "rate_limited");
  if (idempotent) codes.push("idempotency_key_required", "idempotency_key_reused");
  return codes;
}

/**
 * What every route's document needs and no route should have to repeat, added once here: the
 * operationId; `security: []` where no signature is asked; for each error status, the exact
 * problem codes the operation can return (its own, declared with `problem()`, and those its
 * kind of route gives) as an enum, each described; the request id header on every answer;
 * `Retry-After` on 429 and 503; `Idempotent-Replayed` on idempotent successes.
 */
function annotateDocument(app: OpenAPIHono<AppEnv>): void {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route;
    // Route configs are module constants shared by every app built: each step here is idempotent.
    const key = `${route.method} ${route.path}`;
    const id = route.operationId ?? OPERATION_IDS[key];
    if (!id) throw new Error(`no operationId for ${key}: add it to OPERATION_IDS`);
    route.operationId = id;
    route.security ??= [];
    const responses = route.responses as Record<string, DocResponse>;
    const headers = route.request?.headers as { shape?: Record<string, unknown> } | undefined;
    const idempotent = !!headers?.shape && "idempotency-key" in headers.shape;
    const partnerRoute = Object.keys(route.security[0] ?? {})[0] === "PartnerSignature";

    const byStatus = new Map<string, { codes: Set<ErrorCode>; said: string[] }>();
    const add = (code: ErrorCode, said?: string) => {
      const status = String(STATUS_BY_CODE[code]);
      const entry = byStatus.get(status) ?? { codes: new Set(), said: [] };
      entry.codes.add(code);
      if (said && !entry.said.includes(said)) entry.said.push(said);
      byStatus.set(status, entry);
    };
    for (const response of Object.values(responses)) {
      const own = declaredCodes(response);
      if (own) for (const code of own) add(code, response.description);
      const built = builtProblems.get(response);
      for (const code of built?.codes ?? []) {
        add(code);
        for (const said of built!.said) add(code, said);
      }
    }
    for (const code of codesEveryRouteGives(route as RouteShape)) add(code);
    for (const [status, { codes, said }] of byStatus) {
      const list = [...codes].sort();
      // The codes by name; what each means and what to do is on its /problems/<code> page.
      const codesLine = `Problem codes: ${list.map((code) => `\`${code}\``).join(", ")} (each explained at /problems/<code>).`;
      const response = {
        description: [...said, codesLine].join(" "),
        content: {
          "application/problem+json": {
            schema: { allOf: [{ $ref: "#/components/schemas/Problem" }, { type: "object", properties: { code: { type: "string", enum: list } } }] },
          },
        },
      };
      responses[status] = response;
    }
    for (const [status, response] of Object.entries(responses)) {
      const extra: Record<string, unknown> = { "X-Request-Id": headerRef("RequestId") };
      if (status === "429" || status === "503") extra["Retry-After"] = headerRef("RetryAfter");
      if (idempotent && status.startsWith("2")) extra["Idempotent-Replayed"] = headerRef("IdempotentReplayed");
      // Set once the signature is verified: on answers from the route, not on 401/403/413.
      if (partnerRoute && !["401", "403", "413", "500", "503"].includes(status))
        Object.assign(extra, { "RateLimit-Limit": headerRef("RateLimitLimit"), "RateLimit-Reset": headerRef("RateLimitReset") });
      const annotated = { ...response, headers: { ...(response.headers ?? {}), ...extra } };
      const problems = byStatus.get(status);
      if (problems) builtProblems.set(annotated, { codes: [...problems.codes], said: problems.said });
      responses[status] = annotated;
    }
  }
}

/** Responses built here (for an earlier app over the same route configs): their codes and the routes' own words. */
const builtProblems = new WeakMap<object, { codes: ErrorCode[]; said: string[] }>();

/**
 * Integers the server writes are JavaScript safe integers: said so on every integer schema that
 * does not state tighter bounds, so generated clients pick a 64-bit type and never a float.
 */
function boundIntegers(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(boundIntegers);
  if (!node || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  if (schema.type === "integer" || (Array.isArray(schema.type) && schema.type.includes("integer"))) {
    schema.format ??= "int64";
    schema.minimum ??= Number.MIN_SAFE_INTEGER;
    schema.maximum ??= Number.MAX_SAFE_INTEGER;
  }
  for (const value of Object.values(schema)) boundIntegers(value);
}

/** The one Hono app both entries (Worker, Node) serve. */
export function createApp(options: AppOptions): OpenAPIHono<AppEnv> {
  const verifyRequest = options.verifyRequest ?? authenticate;
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target);
      // Every validated string (body, path, query, headers) must be storable text: one check for all routes.
      const unstorable = findUnstorableText(result.data);
      if (unstorable) throw validationFailed([unstorable], `The request ${targetName(result.target)} is not valid.`);
    },
  });

  app.use("*", async (c, next) => {
    const requestId = newId("req");
    c.set("requestId", requestId);
    c.set("verifyRequest", verifyRequest);
    const scoped = options.services(c.env);
    c.set("services", scoped.services);
    try {
      await next();
    } finally {
      const finished = scoped.finish().catch((err) => console.error("releasing request services failed:", err));
      // Workers: keep the isolate alive until the pool is closed. Node has no execution context
      // (and asking Hono for one throws, which is costly on every request).
      if (options.runtime === "workers") c.executionCtx.waitUntil(finished);
    }
    c.header("x-request-id", requestId);
  });
  app.use("*", secureHeaders({ crossOriginResourcePolicy: "same-origin", xFrameOptions: "DENY" }));
  const tooLarge = (c: Context) => problemResponse(c, "payload_too_large", `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`);
  const streamedLimit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  app.use("*", async (c, next) => {
    // A declared length is checked from the header alone: hono's bodyLimit touches the body
    // stream, which on Node turns the light request into a full WHATWG Request (a third of the
    // server's per-request cost in the benchmark profile). Streamed bodies are counted as they come.
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined && /^[0-9]{1,15}$/.test(length))
      return Number(length) > MAX_BODY_BYTES ? tooLarge(c) : next();
    return streamedLimit(c, next);
  });

  options.mountBefore?.(app);
  registerHealth(app);
  registerDocs(app);
  registerWellKnown(app);
  registerAdminPartners(app);
  registerMembers(app);
  registerAdminMembers(app);
  registerLedger(app);
  registerAdminPromotions(app);
  registerSettlement(app);
  registerReports(app);
  registerStaff(app);
  registerAdminWebhooks(app);
  registerRewards(app);
  registerActivities(app);
  registerSelfService(app);
  registerInsights(app);
  registerPortal(app);
  registerFinance(app);
  registerProblemPages(app);
  registerGuide(app);

  app.openAPIRegistry.register("Problem", ProblemSchema);
  for (const [name, component] of Object.entries(HEADER_COMPONENTS)) app.openAPIRegistry.registerComponent("headers", name, component as never); // plain OpenAPI header objects
  app.openAPIRegistry.registerComponent("securitySchemes", "PartnerSignature", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWS (typ coalition-request+jwt), a fresh token per request signed with one of your registered keys",
    description: "See the signing guide (docs/signing.md): iss is your partner id; htm, htu and bsh bind the token to this request.",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "StaffSignature", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWS (typ coalition-request+jwt) signed with an operator key, with sub and role claims",
    description: "Operator staff: iss is the operator issuer; role is admin or finance, as the route needs.",
  });
  annotateDocument(app);
  app.get("/openapi.json", (c) => {
    const doc = app.getOpenAPI31Document({
      openapi: "3.1.0",
      // Where the API answers, from configuration (never from the request's Host).
      servers: [{ url: linkBase(c.var.services.config) }],
      info: {
        title: "Coalesce partner and staff API",
        license: { name: "Proprietary", identifier: "LicenseRef-Proprietary" } as { name: string },
        contact: { name: "Coalesce operator" },
        version: API_VERSION,
        description:
          "The coalition loyalty network's wire contract. Every partner and staff call is a signed request: " +
          "see the partner guide linked from /docs (Signing). Errors are RFC 9457 problem+json; each `type` is a page under /problems.",
      },
    });
    boundIntegers(doc);
    return c.json(doc);
  });

  const allowedMethods = allowedMethodsFinder(app);
  app.notFound((c) => {
    const allow = allowedMethods(c.req.path);
    if (allow.length > 0 && !allow.includes(c.req.method)) {
      return problemResponse(c, "method_not_allowed", `${c.req.method} is not supported on this path.`, { allow });
    }
    return problemResponse(c, "not_found", "No such resource.");
  });
  app.onError((err, c) => errorToResponse(err, c));
  return app;
}
