import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, requireStaff } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { ledgerPosting } from "../http/ledger.js";
import { problem } from "../http/schemas.js";
import { resolveMember } from "../members/members.js";
import { CurrencyCode, PartnerId } from "../partners/document.js";
import { createReward, getRedemption, listRedemptions, listRewards, updateReward } from "../rewards/catalogue.js";
import { normaliseVoucherCode } from "../rewards/codes.js";
import { BalanceSchema, EmptyBody, IdempotencyHeader, json, jsonBody, LimitQuery, optionalBody, security, staffSecurity } from "./common.js";
import { TransactionSchema } from "./ledger.js";

const Kind = z.enum(["voucher", "item", "transfer"]);
const Status = z.enum(["active", "paused", "retired"]);
const Price = z.string().max(20).regex(/^(0|[1-9][0-9]{0,9})(\.[0-9]{1,6})?$/, 'a decimal with up to 6 places, e.g. "4.5"');
const Name = z.string().min(1).max(120);
const Description = z.string().max(2000);
const Cursor = z.string().min(1).max(200).optional();
const Reference = z.string().min(1).max(128);
const FaceValue = z.strictObject({ amount_minor: z.int().min(1).max(100_000_000_000), currency: CurrencyCode }).openapi("FaceValue");
const Transfer = z
  .strictObject({ program: z.string().min(1).max(64), units_per_unit: z.int().min(1).max(10_000_000) })
  .openapi("TransferTerms", { description: "A transfer to another programme: e.g. 500 airline miles per unit." });

const RewardInput = z
  .strictObject({
    supplier_id: PartnerId,
    kind: Kind,
    name: Name,
    description: Description.optional(),
    points: z.int().min(1).max(1_000_000_000).openapi({ description: "Cost per unit in points." }),
    face_value: FaceValue.optional(),
    transfer: Transfer.optional(),
    supplier_price: Price.openapi({ description: "What the operator pays the supplier per fulfilled unit, in the supplier's settlement currency." }),
    stock: z.int().min(0).max(100_000_000).nullable().optional().openapi({ description: "Units left; null or absent for unlimited." }),
    per_member_limit: z.int().min(1).max(1_000_000).nullable().optional(),
    voucher_valid_days: z.int().min(1).max(3_650).optional().openapi({ description: "Default 90." }),
    status: Status.optional(),
  })
  .openapi("RewardRequest");

const RewardPatch = z
  .strictObject({
    name: Name.optional(),
    description: Description.optional(),
    points: z.int().min(1).max(1_000_000_000).optional(),
    supplier_price: Price.optional(),
    stock: z.int().min(0).max(100_000_000).nullable().optional(),
    per_member_limit: z.int().min(1).max(1_000_000).nullable().optional(),
    voucher_valid_days: z.int().min(1).max(3_650).optional(),
    status: Status.optional(),
  })
  .openapi("RewardPatch");

const RewardSchema = z
  .object({
    reward_id: z.string(),
    supplier_id: z.string(),
    kind: Kind,
    name: z.string(),
    description: z.string(),
    points: z.int(),
    face_value: z.object({ amount_minor: z.int(), currency: z.string() }).optional(),
    transfer: z.object({ program: z.string(), units_per_unit: z.int() }).optional(),
    supplier_price: z.string(),
    stock: z.int().nullable(),
    per_member_limit: z.int().nullable(),
    voucher_valid_days: z.int(),
    status: Status,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Reward");

const VoucherSchema = z
  .object({
    code: z.string().openapi({ description: "In full only to the partner that made the redemption; others see its last four symbols." }),
    expires_at: z.string(),
    status: z.enum(["issued", "used", "cancelled", "expired"]),
  })
  .openapi("Voucher");

const RedemptionSchema = z
  .object({
    redemption_id: z.string(),
    reward_id: z.string(),
    supplier_id: z.string(),
    partner_id: z.string(),
    member_id: z.string(),
    kind: Kind,
    quantity: z.int(),
    points: z.int(),
    status: z.enum(["issued", "requested", "fulfilled", "rejected", "cancelled"]),
    reference: z.string(),
    created_at: z.string(),
    vouchers: z.array(VoucherSchema).max(10).optional(),
    transfer_account: z.string().optional(),
    fulfilment_reference: z.string().optional(),
    reject_reason: z.string().optional(),
    transaction: TransactionSchema,
    refund_transaction: TransactionSchema.optional(),
    balance: BalanceSchema.optional().openapi({ description: "The member's balance after this change (on redeem and cancel)." }),
  })
  .openapi("Redemption");

const RedeemBody = z
  .strictObject({
    member: z.string().min(1).max(140).openapi({ description: "mbr_… or ext:<your customer reference>" }),
    reward_id: z.string().min(1).max(64),
    quantity: z.int().min(1).max(10).optional().openapi({ description: "1–10, default 1." }),
    transfer_account: z.string().min(1).max(64).optional().openapi({ description: "Transfer rewards: the member's number in that programme (required)." }),
    reference: Reference,
  })
  .openapi("RedemptionRequest");
export type RedeemInput = z.infer<typeof RedeemBody>;

const RewardParam = z.object({ reward_id: z.string().min(1).max(64).openapi({ param: { name: "reward_id", in: "path" } }) });
const RedemptionParam = z.object({ redemption_id: z.string().min(1).max(64).openapi({ param: { name: "redemption_id", in: "path" } }) });
const CodeParam = z.object({
  code: z.string().min(1).max(40).openapi({ param: { name: "code", in: "path" }, description: "The voucher code, with or without dashes." }),
});
const UseResult = z
  .object({ code: z.string(), status: z.literal("used"), redemption_id: z.string(), used_at: z.string(), face_value: z.object({ amount_minor: z.int(), currency: z.string() }).optional() })
  .openapi("VoucherUse");

const posting = () => [requirePartner(), requireIdempotencyKey()];

const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/admin/rewards",
    tags: ["Rewards"],
    summary: "Add a reward to the catalogue",
    description: "Role: admin. Each reward is supplied and fulfilled by one partner.",
    security: staffSecurity,
    middleware: [requireStaff("admin"), requireIdempotencyKey()],
    request: { headers: IdempotencyHeader, body: jsonBody(RewardInput) },
    responses: { 201: json(RewardSchema, "The reward.") },
  }),
  update: createRoute({
    method: "patch",
    path: "/v1/admin/rewards/{reward_id}",
    tags: ["Rewards"],
    summary: "Change a reward (status, stock, price…)",
    description: "Role: admin. Existing redemptions keep the prices locked when they were made.",
    security: staffSecurity,
    middleware: [requireStaff("admin")],
    request: { params: RewardParam, body: jsonBody(RewardPatch) },
    responses: { 200: json(RewardSchema, "The reward as it is now."), 404: problem("No such reward.", "not_found") },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/rewards",
    tags: ["Rewards"],
    summary: "The active rewards, with their stock",
    security,
    middleware: [requirePartner()] as const,
    request: { query: z.object({ kind: Kind.optional(), limit: LimitQuery, cursor: Cursor }) },
    responses: { 200: json(z.object({ data: z.array(RewardSchema).max(200), next_cursor: z.string().nullable() }).openapi("RewardList"), "A page.") },
  }),
  redeem: createRoute({
    method: "post",
    path: "/v1/redemptions",
    tags: ["Rewards"],
    summary: "Redeem a reward for one of your members",
    description: "Points leave the member's available balance (oldest lots first) as a `redemption` transaction; stock is never oversold.",
    security,
    middleware: posting(),
    request: { headers: IdempotencyHeader, body: jsonBody(RedeemBody) },
    responses: {
      201: json(RedemptionSchema, "Redeemed."),
      404: problem("No such member linked to you, or no such reward.", "member_not_found", "not_found"),
      422: problem("Refused.", "reward_unavailable", "redemption_limit_reached", "insufficient_points"),
    },
  }),
  redemptions: createRoute({
    method: "get",
    path: "/v1/redemptions",
    tags: ["Rewards"],
    summary: "Redemptions you made or supply",
    security,
    middleware: [requirePartner()] as const,
    request: {
      query: z.object({
        member: z.string().min(1).max(140).optional(),
        status: z.enum(["issued", "requested", "fulfilled", "rejected", "cancelled"]).optional(),
        limit: LimitQuery,
        cursor: Cursor,
      }),
    },
    responses: {
      200: json(z.object({ data: z.array(RedemptionSchema).max(200), next_cursor: z.string().nullable() }).openapi("RedemptionList"), "A page, newest first."),
      404: problem("No such member is linked to you.", "member_not_found"),
    },
  }),
  redemption: createRoute({
    method: "get",
    path: "/v1/redemptions/{redemption_id}",
    tags: ["Rewards"],
    summary: "One redemption you made or supply",
    security,
    middleware: [requirePartner()] as const,
    request: { params: RedemptionParam },
    responses: { 200: json(RedemptionSchema, "The redemption."), 404: problem("No such redemption of yours.", "not_found") },
  }),
  cancel: createRoute({
    method: "post",
    path: "/v1/redemptions/{redemption_id}/cancel",
    tags: ["Rewards"],
    summary: "Cancel a redemption you made (all points back, stock restored)",
    security,
    middleware: posting(),
    request: { params: RedemptionParam, headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
    responses: {
      200: json(RedemptionSchema, "Cancelled."),
      404: problem("No such redemption made by you.", "not_found"),
      422: problem("Something of it is used, fulfilled or expired.", "redemption_not_cancellable"),
    },
  }),
  fulfil: createRoute({
    method: "post",
    path: "/v1/redemptions/{redemption_id}/fulfil",
    tags: ["Rewards"],
    summary: "Supplier: mark an item or transfer fulfilled",
    security,
    middleware: posting(),
    request: { params: RedemptionParam, headers: IdempotencyHeader, body: jsonBody(z.strictObject({ reference: Reference }).openapi("FulfilRequest")) },
    responses: {
      200: json(RedemptionSchema, "Fulfilled."),
      404: problem("No such redemption supplied by you.", "not_found"),
      422: problem("Not a requested item or transfer.", "redemption_not_cancellable"),
    },
  }),
  reject: createRoute({
    method: "post",
    path: "/v1/redemptions/{redemption_id}/reject",
    tags: ["Rewards"],
    summary: "Supplier: reject an item or transfer (points refunded, stock restored)",
    security,
    middleware: posting(),
    request: { params: RedemptionParam, headers: IdempotencyHeader, body: jsonBody(z.strictObject({ reason: z.string().min(1).max(500) }).openapi("RejectRequest")) },
    responses: {
      200: json(RedemptionSchema, "Rejected."),
      404: problem("No such redemption supplied by you.", "not_found"),
      422: problem("Not a requested item or transfer.", "redemption_not_cancellable"),
    },
  }),
  use: createRoute({
    method: "post",
    path: "/v1/vouchers/{code}/use",
    tags: ["Rewards"],
    summary: "Supplier: use a voucher (once)",
    description: "Unknown, another supplier's, used, cancelled and expired vouchers all get the same 422 voucher_not_usable.",
    security,
    middleware: posting(),
    request: { params: CodeParam, headers: IdempotencyHeader, body: jsonBody(z.strictObject({ reference: Reference }).openapi("VoucherUseRequest")) },
    responses: { 200: json(UseResult, "Used."), 422: problem("Not usable.", "voucher_not_usable") },
  }),
};

export function registerRewards(app: OpenAPIHono<AppEnv>) {
  app.openapi(routes.create, (c) =>
    idempotent(c, async (tx) => ({ status: 201, body: await createReward(tx, c.req.valid("json"), c.var.services.now()) })),
  );
  app.openapi(routes.update, async (c) => {
    const reward = await authorizedRead(c, () => updateReward(c.var.services.db(), c.req.valid("param").reward_id, c.req.valid("json"), c.var.services.now()));
    return c.json(reward, 200);
  });
  app.openapi(routes.list, async (c) => {
    const { kind, limit, cursor } = c.req.valid("query");
    return c.json(await authorizedRead(c, () => listRewards(c.var.services.db(), { kind, limit: limit ?? 50, cursor })), 200);
  });
  app.openapi(routes.redeem, (c) => ledgerPosting(c, { op: "redeem", input: c.req.valid("json") }));
  app.openapi(routes.redemptions, async (c) => {
    const { member, status, limit, cursor } = c.req.valid("query");
    const db = c.var.services.db();
    const page = await authorizedRead(c, async () => {
      const memberId = member ? (await resolveMember(db, callingPartner(c), member)).memberId : undefined;
      return listRedemptions(db, callingPartner(c), { memberId, status, limit: limit ?? 50, cursor }, c.var.services.now());
    });
    return c.json(page, 200);
  });
  app.openapi(routes.redemption, async (c) => {
    const found = await authorizedRead(c, () => getRedemption(c.var.services.db(), callingPartner(c), c.req.valid("param").redemption_id, c.var.services.now()));
    return c.json(found, 200);
  });
  app.openapi(routes.cancel, (c) => ledgerPosting(c, { op: "redemption_cancel", input: { redemption_id: c.req.valid("param").redemption_id } }));
  app.openapi(routes.fulfil, (c) =>
    ledgerPosting(c, { op: "redemption_fulfil", input: { redemption_id: c.req.valid("param").redemption_id, reference: c.req.valid("json").reference } }),
  );
  app.openapi(routes.reject, (c) =>
    ledgerPosting(c, { op: "redemption_reject", input: { redemption_id: c.req.valid("param").redemption_id, reason: c.req.valid("json").reason } }),
  );
  app.openapi(routes.use, (c) =>
    ledgerPosting(c, { op: "voucher_use", input: { code: normaliseVoucherCode(c.req.valid("param").code), reference: c.req.valid("json").reference } }),
  );
}
