import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, spendToken } from "../http/auth.js";
import { requireIdempotencyKey } from "../http/idempotency.js";
import { ledgerPosting } from "../http/ledger.js";
import { problem } from "../http/schemas.js";
import { quoteEarn } from "../ledger/post.js";
import { getTransaction, listTransactions, PUBLIC_TYPES } from "../ledger/queries.js";
import { resolveMember } from "../members/members.js";
import { CurrencyCode } from "../partners/document.js";
import { BalanceSchema, IdempotencyHeader, json, jsonBody, security, EmptyBody, optionalBody, LimitQuery } from "./common.js";

const Points = z.int().min(1).max(1_000_000_000).openapi({ description: "1 to 1,000,000,000 points." });
const Reference = z.string().min(1).max(128).openapi({ description: "Your reference for this operation (order, booking…), 1–128 characters." });
const MemberRef = z.string().min(1).max(140).openapi({ description: "mbr_… or ext:<your customer reference>", example: "ext:guest-1001" });
const Timestamp = z.iso.datetime({ offset: true }).max(40);

export const TransactionSchema = z
  .object({
    transaction_id: z.string(),
    type: z.enum(PUBLIC_TYPES),
    partner_id: z.string().nullable().openapi({ description: "The partner that posted it; null for transfer_in and referral_bonus, which no partner posts (and for the expiry of points the operator issued)." }),
    member_id: z.string(),
    points: z.int(),
    reference: z.string().nullable(),
    status: z.enum(["posted", "pending"]),
    created_at: z.string(),
    available_at: z.string().optional(),
    original_transaction_id: z.string().optional(),
  })
  .openapi("Transaction");

const EarnBody = z
  .strictObject({
    member: MemberRef,
    amount_minor: z.int().min(0).max(100_000_000_000_000).openapi({ description: "Purchase amount in ISO 4217 minor units." }),
    currency: CurrencyCode,
    category: z.string().min(1).max(64).regex(/^[a-z0-9_-]+$/).optional(),
    reference: Reference,
    occurred_at: Timestamp.optional(),
    available_at: Timestamp.optional().openapi({ description: "Points stay pending until then (at most 366 days ahead)." }),
    points: Points.optional().openapi({ description: "Explicit base points, where your contract allows them." }),
  })
  .openapi("EarnRequest");

const BurnBody = z.strictObject({ member: MemberRef, points: Points, reference: Reference }).openapi("BurnRequest");
const HoldBody = z
  .strictObject({
    member: MemberRef,
    points: Points,
    reference: Reference,
    ttl_seconds: z.int().min(1).max(86_400).default(900).openapi({ description: "Default 900, at most 86400." }),
  })
  .openapi("HoldRequest");
const CaptureBody = z.strictObject({ points: Points.optional() }).openapi("CaptureRequest");
const ReversalBody = z.strictObject({ points: Points.optional(), reference: Reference }).openapi("ReversalRequest");

/** The postings' inputs as validated here: the ledger's typed door takes exactly these. */
export type EarnInput = z.infer<typeof EarnBody>;
export type BurnInput = z.infer<typeof BurnBody>;
export type HoldInput = z.infer<typeof HoldBody>;
export type CaptureInput = z.infer<typeof CaptureBody>;
export type ReversalInput = z.infer<typeof ReversalBody>;

const QuoteSchema = z.object({ points: z.int(), base_points: z.int(), bonus_points: z.int() }).openapi("EarnQuote");
const EarnResult = z.object({ transaction: TransactionSchema, balance: BalanceSchema, base_points: z.int(), bonus_points: z.int() }).openapi("EarnResult");
const PostingResult = z.object({ transaction: TransactionSchema, balance: BalanceSchema }).openapi("PostingResult");
const HoldSchema = z
  .object({ hold_id: z.string(), status: z.literal("authorized"), points: z.int(), expires_at: z.string(), balance: BalanceSchema })
  .openapi("Hold");
const HoldParam = z.object({ hold_id: z.string().min(1).max(64).openapi({ param: { name: "hold_id", in: "path" } }) });
const TxnParam = z.object({ transaction_id: z.string().min(1).max(64).openapi({ param: { name: "transaction_id", in: "path" } }) });
const posting = () => [requirePartner(), requireIdempotencyKey()];

const routes = {
  quote: createRoute({
    method: "post",
    path: "/v1/earn/quote",
    tags: ["Ledger"],
    summary: "How many points an earn would credit (writes nothing)",
    security,
    middleware: [requirePartner()] as const,
    request: { body: jsonBody(EarnBody) },
    responses: { 200: json(QuoteSchema, "The quote."), 404: problem("No such member is linked to you.", "member_not_found"), 422: problem("Refused by your contract.", "explicit_points_not_allowed") },
  }),
  earn: createRoute({
    method: "post",
    path: "/v1/earn",
    tags: ["Ledger"],
    summary: "Credit points for a purchase",
    description:
      "base_points = floor(amount in major units × points_per_unit) of the matching earn rule (or your explicit points, where allowed); " +
      "bonus_points come from the member's tier. With available_at in the future the points are pending until then.",
    security,
    middleware: posting(),
    request: { headers: IdempotencyHeader, body: jsonBody(EarnBody) },
    responses: {
      201: json(EarnResult, "Posted."),
      404: problem("No such member is linked to you.", "member_not_found"),
      422: problem("Refused by your contract, funding or limits.", "explicit_points_not_allowed", "prepaid_points_exhausted", "credit_limit_exceeded", "issuance_limit_reached"),
    },
  }),
  burn: createRoute({
    method: "post",
    path: "/v1/burn",
    tags: ["Ledger"],
    summary: "Spend points",
    security,
    middleware: posting(),
    request: { headers: IdempotencyHeader, body: jsonBody(BurnBody) },
    responses: { 201: json(PostingResult, "Posted."), 404: problem("No such member is linked to you.", "member_not_found"), 422: problem("Not enough available points.", "insufficient_points") },
  }),
  hold: createRoute({
    method: "post",
    path: "/v1/holds",
    tags: ["Ledger"],
    summary: "Reserve points (captured or voided later)",
    security,
    middleware: posting(),
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(HoldBody),
    },
    responses: { 201: json(HoldSchema, "Authorized."), 404: problem("No such member is linked to you.", "member_not_found"), 422: problem("Not enough available points.", "insufficient_points") },
  }),
  capture: createRoute({
    method: "post",
    path: "/v1/holds/{hold_id}/capture",
    tags: ["Ledger"],
    summary: "Capture all or part of a hold (the rest is released)",
    security,
    middleware: posting(),
    request: { params: HoldParam, headers: IdempotencyHeader, body: optionalBody(CaptureBody) },
    responses: {
      200: json(
        z.object({ hold_id: z.string(), status: z.literal("captured"), captured_points: z.int(), transaction: TransactionSchema, balance: BalanceSchema }).openapi("Capture"),
        "Captured.",
      ),
      404: problem("No such hold.", "not_found"),
      422: problem("The hold is no longer active, or the capture is larger than the hold.", "hold_not_active", "capture_exceeds_hold"),
    },
  }),
  void: createRoute({
    method: "post",
    path: "/v1/holds/{hold_id}/void",
    tags: ["Ledger"],
    summary: "Release a hold",
    security,
    middleware: posting(),
    request: { params: HoldParam, headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
    responses: {
      200: json(z.object({ hold_id: z.string(), status: z.literal("voided"), balance: BalanceSchema }).openapi("Void"), "Voided."),
      404: problem("No such hold.", "not_found"),
      422: problem("The hold is no longer active.", "hold_not_active"),
    },
  }),
  reverse: createRoute({
    method: "post",
    path: "/v1/transactions/{transaction_id}/reversals",
    tags: ["Ledger"],
    summary: "Reverse an earn or refund a burn, in whole or in part",
    description:
      "An earn_reversal takes back points of that earn the member still has (pending, or available and not spent, expired or held); " +
      "points already spent are refused with 422 insufficient_points, and a reversal of part of them (`points`) can take what is left. " +
      "A burn_refund gives points back with their original issuer, prices and expiry. Never more than the original in total.",
    security,
    middleware: posting(),
    request: {
      params: TxnParam,
      headers: IdempotencyHeader,
      body: jsonBody(ReversalBody),
    },
    responses: {
      201: json(PostingResult, "Posted."),
      404: problem("No such transaction of yours.", "not_found"),
      422: problem("More than remains to reverse, or the points were already spent.", "reversal_exceeds_original", "insufficient_points"),
    },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/transactions",
    tags: ["Ledger"],
    summary: "Your transactions, newest first",
    security,
    middleware: [requirePartner()] as const,
    request: {
      query: z.strictObject({
        member: MemberRef.optional(),
        limit: LimitQuery,
        cursor: z.string().min(1).max(200).optional(),
      }),
    },
    responses: {
      200: json(z.object({ data: z.array(TransactionSchema).max(200), next_cursor: z.string().nullable() }).openapi("TransactionList"), "A page."),
      404: problem("No such member is linked to you.", "member_not_found"),
    },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/transactions/{transaction_id}",
    tags: ["Ledger"],
    summary: "One of your transactions",
    security,
    middleware: [requirePartner()] as const,
    request: { params: TxnParam },
    responses: { 200: json(TransactionSchema, "The transaction."), 404: problem("No such transaction of yours.", "not_found") },
  }),
};

export function registerLedger(app: OpenAPIHono<AppEnv>) {
  app.openapi(routes.quote, async (c) => {
    const { services } = c.var;
    const quote = await quoteEarn(services.db(), services.config, callingPartner(c), c.req.valid("json"), services.now(), () => spendToken(c, services.db()));
    return c.json(quote, 200);
  });
  app.openapi(routes.earn, (c) => ledgerPosting(c, { op: "earn", input: c.req.valid("json") }));
  app.openapi(routes.burn, (c) => ledgerPosting(c, { op: "burn", input: c.req.valid("json") }));
  app.openapi(routes.hold, (c) => ledgerPosting(c, { op: "hold", input: c.req.valid("json") }));
  app.openapi(routes.capture, (c) => ledgerPosting(c, { op: "capture", input: { ...c.req.valid("json"), hold_id: c.req.valid("param").hold_id } }));
  app.openapi(routes.void, (c) => ledgerPosting(c, { op: "void", input: { hold_id: c.req.valid("param").hold_id } }));
  app.openapi(routes.reverse, (c) => ledgerPosting(c, { op: "reverse", input: { ...c.req.valid("json"), transaction_id: c.req.valid("param").transaction_id } }));
  app.openapi(routes.list, async (c) => {
    const { member, limit, cursor } = c.req.valid("query");
    const db = c.var.services.db();
    const page = await authorizedRead(c, async () => {
      const memberId = member ? (await resolveMember(db, callingPartner(c), member)).memberId : undefined;
      return listTransactions(db, callingPartner(c), { memberId, limit: limit ?? 50, cursor }, c.var.services.now());
    });
    return c.json(page, 200);
  });
  app.openapi(routes.get, async (c) => {
    const txn = await authorizedRead(c, () => getTransaction(c.var.services.db(), callingPartner(c), c.req.valid("param").transaction_id, c.var.services.now()));
    return c.json(txn, 200);
  });
}
