import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, requireStaff } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { createPromotion, getPromotion } from "../ledger/promotions.js";
import { PartnerId } from "../partners/document.js";
import { IdempotencyHeader, json, jsonBody, security, staffSecurity } from "./common.js";

const Multiplier = z.string().max(12).regex(/^[1-9][0-9]?(\.[0-9]{1,4})?$/, 'a decimal from 1 to 99.9999, e.g. "2" for double points');
const Share = z.string().max(6).regex(/^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$/, 'a decimal from 0 to 1, e.g. "0.5"');

const PromotionInput = z
  .strictObject({
    partner_id: PartnerId,
    name: z.string().min(1).max(200),
    category: z.string().min(1).max(64).regex(/^([a-z0-9_-]+|\*)$/).default("*"),
    multiplier: Multiplier.optional().openapi({ description: "Bonus = floor(base × (multiplier − 1))." }),
    fixed_points: z.int().min(1).max(1_000_000).optional(),
    starts_at: z.iso.datetime({ offset: true }).max(40),
    ends_at: z.iso.datetime({ offset: true }).max(40),
    budget_points: z.int().min(1).max(1_000_000_000_000),
    funded_by: z.enum(["partner", "operator", "shared"]),
    operator_share: Share.optional(),
  })
  .openapi("PromotionRequest");

const PromotionSchema = z
  .object({
    promotion_id: z.string(),
    partner_id: z.string(),
    name: z.string(),
    category: z.string(),
    multiplier: z.string().optional(),
    fixed_points: z.int().optional(),
    starts_at: z.string(),
    ends_at: z.string(),
    budget_points: z.int(),
    remaining_points: z.int(),
    funded_by: z.enum(["partner", "operator", "shared"]),
    operator_share: z.string(),
    created_at: z.string(),
  })
  .openapi("Promotion");

const create = createRoute({
  method: "post",
  path: "/v1/admin/promotions",
  tags: ["Admin"],
  summary: "Create a promotion",
  description: "Role: admin. Earns at the partner in the category and time box get the bonus until the budget is spent.",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()],
  request: { headers: IdempotencyHeader, body: jsonBody(PromotionInput) },
  responses: { 201: json(PromotionSchema, "Created."), 404: problem("No such partner.", "not_found") },
});

const read = createRoute({
  method: "get",
  path: "/v1/admin/promotions/{promotion_id}",
  tags: ["Admin"],
  summary: "A promotion and its remaining budget",
  security: staffSecurity,
  middleware: [requireStaff("admin")],
  request: { params: z.object({ promotion_id: z.string().min(1).max(64).openapi({ param: { name: "promotion_id", in: "path" } }) }) },
  responses: { 200: json(PromotionSchema, "The promotion."), 404: problem("No such promotion.", "not_found") },
});

export function registerAdminPromotions(app: OpenAPIHono<AppEnv>) {
  app.openapi(create, (c) => idempotent(c, async (tx) => ({ status: 201, body: await createPromotion(tx, c.req.valid("json"), c.var.services.now()) })));
  app.openapi(read, async (c) => c.json(await authorizedRead(c, () => getPromotion(c.var.services.db(), c.req.valid("param").promotion_id)), 200));
}
