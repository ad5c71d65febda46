import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { requireStaff, spendToken } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { ActivityRule, EarnRule, FundingChange, PartnerDocument, PartnerId, PartnerPatch, PublicJwk, Settlement } from "../partners/document.js";
import { IdempotencyHeader, json, jsonBody, security, staffSecurity } from "./common.js";
import { buyPrepaidBlock } from "../settlement/prepaid.js";
import { addPartnerKey, changeFunding, createPartner, revokePartnerKey, updatePartner, type PartnerPolicy } from "../partners/admin.js";
import type { Context } from "hono";


const PartnerSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    category: z.string(),
    status: z.enum(["active", "suspended"]),
    settlement: Settlement,
    earn_rules: z.array(EarnRule),
    allow_explicit_points: z.boolean().optional(),
    rate_limit_per_minute: z.int().optional(),
    webhook_url: z.string().optional(),
    activity_rules: z.array(ActivityRule).optional(),
    limits: z.object({ daily_points: z.int().optional(), member_daily_points: z.int().optional() }).optional(),
    keys: z.array(PublicJwk),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Partner");

const KeySchema = z
  .object({
    partner_id: z.string(),
    kid: z.string(),
    alg: z.enum(["ES256", "EdDSA"]),
    status: z.enum(["active", "revoked"]),
    jwk: PublicJwk,
    created_at: z.string(),
  })
  .openapi("PartnerKey");

const PartnerParam = z.object({ partner_id: PartnerId.openapi({ param: { name: "partner_id", in: "path" } }) });

const create = createRoute({
  method: "post",
  path: "/v1/admin/partners",
  tags: ["Admin"],
  summary: "Register a partner",
  description: "Role: admin. The body is a partner document, the same schema as a file in `partners/`.",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(PartnerDocument) },
  responses: { 201: json(PartnerSchema, "The partner."), 409: problem("A partner with this id exists.", "already_exists") },
});


const patch = createRoute({
  method: "patch",
  path: "/v1/admin/partners/{partner_id}",
  tags: ["Admin"],
  summary: "Change a partner's status or terms",
  description:
    "Role: admin. JSON merge semantics: only the fields sent change, `settlement` field by field, and `null` removes an optional field. " +
    "Funding mode (prepaid or postpaid) is never changed here: see `POST /v1/admin/partners/{partner_id}/funding`. " +
    "Suspending a partner refuses its next request with 403 `partner_suspended`.",
  security: staffSecurity,
  middleware: [requireStaff("admin")] as const,
  request: { params: PartnerParam, body: jsonBody(PartnerPatch) },
  responses: { 200: json(PartnerSchema, "The partner as it is now."), 404: problem("No such partner.", "not_found") },
});

const addKey = createRoute({
  method: "post",
  path: "/v1/admin/partners/{partner_id}/keys",
  tags: ["Admin"],
  summary: "Register a partner public key",
  description: "Role: admin. Several keys may be active at once, for rotation.",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()] as const,
  request: { params: PartnerParam, headers: IdempotencyHeader, body: jsonBody(z.strictObject({ jwk: PublicJwk })) },
  responses: { 201: json(KeySchema, "The key."), 404: problem("No such partner.", "not_found"), 409: problem("The kid is taken.", "already_exists") },
});

const revokeKey = createRoute({
  method: "delete",
  path: "/v1/admin/partners/{partner_id}/keys/{kid}",
  tags: ["Admin"],
  summary: "Revoke a partner key",
  description: "Role: admin. The key stops working at once, on every instance.",
  security: staffSecurity,
  middleware: [requireStaff("admin")] as const,
  request: {
    params: PartnerParam.extend({ kid: z.string().min(1).max(128).openapi({ param: { name: "kid", in: "path" } }) }),
  },
  responses: { 204: { description: "Revoked (or already revoked)." }, 404: problem("No such partner or key.", "not_found") },
});

const funding = createRoute({
  method: "post",
  path: "/v1/admin/partners/{partner_id}/funding",
  tags: ["Admin"],
  summary: "Switch a partner between prepaid and postpaid",
  description:
    "Role: admin. The only way to change funding mode. To prepaid: the balance starts at 0; buy blocks with `prepaid-blocks`. " +
    "To postpaid: the remaining prepaid balance is given up and reported as `forfeited_prepaid_points`. The current mode again changes nothing.",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()] as const,
  request: { params: PartnerParam, headers: IdempotencyHeader, body: jsonBody(FundingChange) },
  responses: {
    200: json(PartnerSchema.extend({ forfeited_prepaid_points: z.int() }).openapi("PartnerFunding"), "The partner with its new funding mode."),
    404: problem("No such partner.", "not_found"),
  },
});

const prepaid = createRoute({
  method: "post",
  path: "/v1/admin/partners/{partner_id}/prepaid-blocks",
  tags: ["Admin"],
  summary: "Add a block of prepaid points",
  description: "Role: admin. A prepaid partner's earns draw its block down; at zero an earn is refused with prepaid_points_exhausted.",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()] as const,
  request: {
    params: PartnerParam,
    headers: IdempotencyHeader,
    body: jsonBody(z.strictObject({ points: z.int().min(1).max(1_000_000_000_000), reference: z.string().min(1).max(128) }).openapi("PrepaidBlockRequest")),
  },
  responses: {
    201: json(
      z.object({ purchase_id: z.string(), partner_id: z.string(), points: z.int(), reference: z.string(), prepaid_points: z.int(), created_at: z.string() }).openapi("PrepaidBlock"),
      "Added; prepaid_points is the new balance.",
    ),
    404: problem("No such partner.", "not_found"),
    422: problem("The partner is not prepaid.", "not_prepaid"),
  },
});

const policy = (c: Context<AppEnv>): PartnerPolicy => ({ production: c.var.services.config.environment === "production" });

export function registerAdminPartners(app: OpenAPIHono<AppEnv>) {
  app.openapi(funding, (c) =>
    idempotent(c, async (tx) => ({ status: 200, body: await changeFunding(tx, c.req.valid("param").partner_id, c.req.valid("json"), c.var.services.now()) })),
  );
  app.openapi(prepaid, (c) =>
    idempotent(c, async (tx) => {
      const { points, reference } = c.req.valid("json");
      const by = c.var.caller.kind === "staff" ? c.var.caller.sub : "unknown";
      return { status: 201, body: await buyPrepaidBlock(tx, c.req.valid("param").partner_id, points, reference, by, c.var.services.now()) };
    }),
  );
  app.openapi(create, (c) =>
    idempotent(c, async (tx) => ({ status: 201, body: await createPartner(tx, c.req.valid("json"), policy(c), c.var.services.now()) })),
  );
  app.openapi(patch, async (c) => {
    const { partner_id } = c.req.valid("param");
    await spendToken(c, c.var.services.db()); // its own commit: a refused change still spends the token
    const view = await c.var.services.db().transaction((tx) => updatePartner(tx, partner_id, c.req.valid("json"), policy(c), c.var.services.now()));
    return c.json(view, 200);
  });
  app.openapi(addKey, (c) =>
    idempotent(c, async (tx) => ({
      status: 201,
      body: await addPartnerKey(tx, c.req.valid("param").partner_id, c.req.valid("json").jwk, c.var.services.now()),
    })),
  );
  app.openapi(revokeKey, async (c) => {
    const { partner_id, kid } = c.req.valid("param");
    await spendToken(c, c.var.services.db()); // its own commit: a refused change still spends the token
    await c.var.services.db().transaction((tx) => revokePartnerKey(tx, partner_id, kid, c.var.services.now()));
    return c.body(null, 204);
  });
}
