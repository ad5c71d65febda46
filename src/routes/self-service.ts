import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, spendToken } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { PublicJwk, WebhookUrl } from "../partners/document.js";
import type { PartnerPolicy } from "../partners/admin.js";
import { addOwnKey, listDeliveries, listOwnKeys, queuePing, revokeOwnKey, setOwnWebhook, type DeliveryStatus } from "../partners/self-service.js";
import { EmptyBody, IdempotencyHeader, json, jsonBody, LimitQuery, optionalBody, security } from "./common.js";

const OwnKeySchema = z
  .object({
    kid: z.string(),
    alg: z.enum(["ES256", "EdDSA"]),
    status: z.enum(["active", "revoked"]),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi("OwnKey", { description: "One of your keys: its public parts only." });

const DeliveryStatusEnum = z.enum(["pending", "sending", "delivered", "dead", "skipped"]);
const DeliverySchema = z
  .object({
    event_id: z.string(),
    type: z.string(),
    status: DeliveryStatusEnum,
    attempts: z.int(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    next_attempt_at: z.string().nullable().openapi({ description: "When the next attempt is due (pending and sending only)." }),
    delivered_at: z.string().nullable(),
  })
  .openapi("Delivery");

const KidParam = z.object({ kid: z.string().min(1).max(128).openapi({ param: { name: "kid", in: "path" } }) });

const routes = {
  keys: createRoute({
    method: "get",
    path: "/v1/keys",
    tags: ["Self-service"],
    summary: "Your keys (public parts only)",
    security,
    middleware: [requirePartner()] as const,
    responses: { 200: json(z.object({ data: z.array(OwnKeySchema).max(1000) }).openapi("OwnKeyList"), "Your keys, active and revoked, oldest first.") },
  }),
  addKey: createRoute({
    method: "post",
    path: "/v1/keys",
    tags: ["Self-service"],
    summary: "Register a new public key of yours (rotation)",
    description: "At most 10 keys may be active at once. Sign with the new key, then revoke the old one. A kid is never reused, even after revocation.",
    security,
    middleware: [requirePartner(), requireIdempotencyKey()] as const,
    request: { headers: IdempotencyHeader, body: jsonBody(z.strictObject({ jwk: PublicJwk }).openapi("OwnKeyRequest")) },
    responses: {
      201: json(OwnKeySchema, "Registered: it signs from now on."),
      409: problem("The kid is taken (keys are never reused).", "already_exists"),
      422: problem("Ten keys are active already, or the key is not usable.", "validation_failed"),
    },
  }),
  revokeKey: createRoute({
    method: "delete",
    path: "/v1/keys/{kid}",
    tags: ["Self-service"],
    summary: "Revoke one of your keys",
    description: "It stops working at once, on every instance. The key that signed this request cannot revoke itself (422 validation_failed).",
    security,
    middleware: [requirePartner()] as const,
    request: { params: KidParam },
    responses: {
      204: { description: "Revoked (or already revoked)." },
      404: problem("No such key of yours.", "not_found"),
      422: problem("The key signed this request.", "validation_failed"),
    },
  }),
  webhook: createRoute({
    method: "put",
    path: "/v1/webhook",
    tags: ["Self-service"],
    summary: "Set or clear your webhook URL",
    description: "https, no credentials, never an internal address (plain http only to loopback outside production); `null` stops deliveries.",
    security,
    middleware: [requirePartner()] as const,
    request: { body: jsonBody(z.strictObject({ url: WebhookUrl.nullable() }).openapi("WebhookRequest")) },
    responses: { 200: json(z.object({ url: z.string().nullable() }).openapi("Webhook"), "Your webhook URL as it is now.") },
  }),
  ping: createRoute({
    method: "post",
    path: "/v1/webhook/test",
    tags: ["Self-service"],
    summary: "Queue a test event (ping) to your webhook URL",
    description: "Delivered, signed and retried like any event; follow it with GET /v1/webhook/deliveries.",
    security,
    middleware: [requirePartner(), requireIdempotencyKey()] as const,
    request: { headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
    responses: {
      202: json(z.object({ event_id: z.string(), type: z.literal("ping"), status: z.literal("pending") }).openapi("PingQueued"), "Queued."),
      422: problem("You have no webhook URL.", "validation_failed"),
    },
  }),
  deliveries: createRoute({
    method: "get",
    path: "/v1/webhook/deliveries",
    tags: ["Self-service"],
    summary: "Your events and how their delivery stands",
    security,
    middleware: [requirePartner()] as const,
    request: { query: z.object({ status: DeliveryStatusEnum.optional(), limit: LimitQuery, cursor: z.string().min(1).max(200).optional() }) },
    responses: { 200: json(z.object({ data: z.array(DeliverySchema).max(200), next_cursor: z.string().nullable() }).openapi("DeliveryList"), "A page, newest first.") },
  }),
};

const policy = (c: Context<AppEnv>): PartnerPolicy => ({ production: c.var.services.config.environment === "production" });
const signingKid = (c: Context<AppEnv>) => (c.var.caller.kind === "partner" ? c.var.caller.kid : "");

export function registerSelfService(app: OpenAPIHono<AppEnv>) {
  app.openapi(routes.keys, async (c) => c.json(await authorizedRead(c, () => listOwnKeys(c.var.services.db(), callingPartner(c))), 200));
  app.openapi(routes.addKey, (c) =>
    idempotent(c, async (tx) => ({ status: 201, body: await addOwnKey(tx, callingPartner(c), c.req.valid("json").jwk, c.var.services.now()) })),
  );
  app.openapi(routes.revokeKey, async (c) => {
    await spendToken(c, c.var.services.db()); // its own commit: a refused change still spends the token
    await c.var.services.db().transaction((tx) => revokeOwnKey(tx, callingPartner(c), c.req.valid("param").kid, signingKid(c), c.var.services.now()));
    return c.body(null, 204);
  });
  app.openapi(routes.webhook, async (c) => {
    await spendToken(c, c.var.services.db());
    const body = await c.var.services.db().transaction((tx) => setOwnWebhook(tx, callingPartner(c), c.req.valid("json").url, policy(c), c.var.services.now()));
    return c.json(body, 200);
  });
  app.openapi(routes.ping, (c) => idempotent(c, async (tx) => ({ status: 202, body: await queuePing(tx, callingPartner(c), c.var.services.now()) })));
  app.openapi(routes.deliveries, async (c) => {
    const { status, limit, cursor } = c.req.valid("query");
    const page = await authorizedRead(c, () => listDeliveries(c.var.services.db(), callingPartner(c), { status: status as DeliveryStatus | undefined, limit: limit ?? 50, cursor }));
    return c.json(page, 200);
  });
}
