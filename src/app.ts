import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import type { Context } from "hono";
import type { AppEnv } from "./http/env.js";
import { errorToResponse, problemResponse } from "./http/problem.js";
import { targetName, validationError } from "./http/validation.js";
import { findUnstorableText } from "./lib/text.js";
import { validationFailed } from "./errors.js";
import { allowedMethodsFinder } from "./http/method-not-allowed.js";
import { MAX_BODY_BYTES } from "./http/limits.js";
import { newId } from "./lib/ids.js";
import { linkBase } from "./config.js";
import { ProblemSchema } from "./http/schemas.js";
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
import { registerPortal } from "./web/portal.js";
import { registerFinance } from "./web/finance.js";

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

/** `post /v1/members/{member}/link-codes` → `postV1MembersMemberLinkCodes`: stable, unique, generator-friendly. */
function operationId(method: string, path: string): string {
  const words = [method, ...path.split(/[/{}._-]+/)].filter(Boolean);
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w[0]!.toUpperCase() + w.slice(1))).join("");
}

type DocResponse = { description: string; content?: unknown; headers?: Record<string, unknown> };
const header = (description: string, type: "string" | "integer") => ({ description, schema: { type } });

/**
 * What every route's document needs and no route should have to repeat, added once here:
 * an operationId; `security: []` where no signature is asked; the request id header on every
 * answer; `Retry-After` on 429 and 503; and, on routes that take an Idempotency-Key,
 * `Idempotent-Replayed` on success and 409 `idempotency_key_reused` (merged into a 409 the route
 * already documents).
 */
function annotateDocument(app: OpenAPIHono<AppEnv>): void {
  const reused = "`idempotency_key_reused`: this Idempotency-Key was used for a different request.";
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route") continue;
    const route = definition.route;
    route.operationId ??= operationId(route.method, route.path);
    route.security ??= [];
    const headers = route.request?.headers as { shape?: Record<string, unknown> } | undefined;
    const idempotent = !!headers?.shape && "idempotency-key" in headers.shape;
    const responses = route.responses as Record<string, DocResponse>;
    // Route configs are module constants shared by every app built: each step here is idempotent.
    if (idempotent && !responses[409]?.description.includes(reused)) {
      const existing = responses[409];
      responses[409] = existing
        ? { ...existing, description: `${existing.description} Or ${reused}` }
        : { description: reused, content: { "application/problem+json": { schema: ProblemSchema } } };
    }
    for (const [status, response] of Object.entries(responses)) {
      const extra: Record<string, unknown> = { "X-Request-Id": header("This request's id (also in problem bodies as request_id).", "string") };
      if (status === "429" || status === "503") extra["Retry-After"] = header("Seconds to wait before retrying.", "integer");
      if (idempotent && status.startsWith("2")) extra["Idempotent-Replayed"] = header("`true` when this is the stored answer of an earlier request with the same key.", "string");
      responses[status] = { ...response, headers: { ...(response.headers ?? {}), ...extra } };
    }
  }
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
  registerPortal(app);
  registerFinance(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "SignedRequest", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT (coalition-request+jwt), a fresh signed token per request",
  });
  annotateDocument(app);
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    // Where the API answers, from configuration (never from the request's Host).
    servers: [{ url: linkBase(c.var.services.config) }],
    info: {
      title: "Coalesce partner and staff API",
      version: API_VERSION,
      description:
        "The coalition loyalty network's wire contract. Every partner and staff call is a signed request: " +
        "see the Authentication section of the partner API guide. Errors are RFC 9457 problem+json.",
    },
  }));

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
