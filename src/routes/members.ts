import { linkBase } from "../config.js";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, spendToken } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { enrolMember, getMember } from "../members/members.js";
import { createLinkCodeForPartner, redeemLinkCode, unlinkForPartner } from "../members/links.js";
import { createPortalLogin } from "../members/portal.js";
import { createReceiveCodeForPartner, hashReceiveCode, referralCodeForPartner } from "../members/economy.js";
import { ledgerPosting } from "../http/ledger.js";
import { TransactionSchema } from "./ledger.js";
import { BalanceSchema, ExternalRef, IdempotencyHeader, json, jsonBody, MemberRefParam, security, EmptyBody, optionalBody } from "./common.js";

const MemberSchema = z
  .object({
    member_id: z.string(),
    external_ref: z.string(),
    tier: z.string(),
    balance: BalanceSchema,
    referred_by: z.string().nullable().openapi({ description: "The member whose referral code this member enrolled with, or null." }),
  })
  .openapi("Member");

const CodeSchema = z.string().min(1).max(32).openapi({ description: "As the member gave it: case, dashes and spaces do not matter.", example: "K7Q2-M9XD-4TRW" });

const EnrolBody = z
  .strictObject({
    external_ref: ExternalRef,
    referral_code: CodeSchema.optional().openapi({ description: "Another member's referral code; applies only when this call creates the member." }),
  })
  .openapi("EnrolRequest");

const TransferBody = z
  .strictObject({
    code: CodeSchema.openapi({ description: "The recipient's receive code." }),
    points: z.int().min(1).max(1_000_000_000),
    reference: z.string().min(1).max(128).openapi({ description: "Your reference for this transfer, 1–128 characters." }),
  })
  .openapi("TransferRequest");

const enrol = createRoute({
  method: "post",
  path: "/v1/members",
  tags: ["Members"],
  summary: "Enrol a customer as a member",
  description: "A new member linked to your customer; 200 with the same member if you already linked that external_ref.",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(EnrolBody) },
  responses: {
    201: json(MemberSchema, "Enrolled."),
    200: json(MemberSchema, "Already enrolled by you: the same member (a referral code does not apply to it)."),
    422: problem("The referral code names no active member.", "referral_code_invalid"),
  },
});

const read = createRoute({
  method: "get",
  path: "/v1/members/{member}",
  tags: ["Members"],
  summary: "Look up a member linked to you",
  security,
  middleware: [requirePartner()] as const,
  request: { params: MemberRefParam },
  responses: { 200: json(MemberSchema, "The member."), 404: problem("No such member is linked to you.", "member_not_found") },
});


const linkCode = createRoute({
  method: "post",
  path: "/v1/members/{member}/link-codes",
  tags: ["Members"],
  summary: "Create a link code for a member",
  description: "A single-use code, valid 15 minutes, that another brand redeems with POST /v1/links to link its customer (with the member's consent).",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { params: MemberRefParam, headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
  responses: {
    201: json(z.object({ code: z.string(), expires_at: z.string() }).openapi("LinkCode"), "The code."),
    404: problem("No such member is linked to you.", "member_not_found"),
  },
});

const link = createRoute({
  method: "post",
  path: "/v1/links",
  tags: ["Members"],
  summary: "Link your customer to a member with a link code",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: {
    headers: IdempotencyHeader,
    body: jsonBody(z.strictObject({ code: z.string().min(1).max(32), external_ref: ExternalRef }).openapi("LinkRequest")),
  },
  responses: {
    201: json(z.object({ member_id: z.string(), external_ref: z.string() }).openapi("Link"), "Linked."),
    409: problem("One of your customers is already linked to this member, or this reference is linked to another member.", "already_linked", "external_ref_taken"),
    422: problem("The code is unknown, expired or used.", "link_code_invalid"),
  },
});

const unlink = createRoute({
  method: "delete",
  path: "/v1/members/{member}/link",
  tags: ["Members"],
  summary: "Remove your link to a member",
  description: "The member keeps its balance and history; you no longer see it.",
  security,
  middleware: [requirePartner()] as const,
  request: { params: MemberRefParam },
  responses: { 204: { description: "Unlinked." }, 404: problem("No such member is linked to you.", "member_not_found") },
});

const portalSession = createRoute({
  method: "post",
  path: "/v1/members/{member}/portal-sessions",
  tags: ["Members"],
  summary: "A one-time URL to the member's own portal",
  description: "Hand the URL to your signed-in customer. It works once, for 10 minutes, and starts a 15-minute member session.",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { params: MemberRefParam, headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
  responses: {
    201: json(z.object({ url: z.string(), expires_at: z.string() }).openapi("PortalSession"), "The one-time URL."),
    404: problem("No such member is linked to you.", "member_not_found"),
  },
});

const receiveCode = createRoute({
  method: "post",
  path: "/v1/members/{member}/receive-codes",
  tags: ["Transfers"],
  summary: "A code your member hands a sender to receive points",
  description: "Single use, valid 15 minutes. You get a `transfer.received` webhook when a transfer uses it.",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { params: MemberRefParam, headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
  responses: {
    201: json(z.object({ code: z.string(), expires_at: z.string() }).openapi("ReceiveCode"), "The code."),
    404: problem("No such member is linked to you.", "member_not_found"),
  },
});

const transfer = createRoute({
  method: "post",
  path: "/v1/members/{member}/transfers",
  tags: ["Transfers"],
  summary: "Send points from your member to the holder of a receive code",
  description:
    "The sender's `transfer_out`; the recipient gets a `transfer_in`. The points keep their issuer, locked prices and expiry. " +
    "A member sends at most MEMBER_TRANSFER_DAILY_POINTS (default 20,000) per UTC day.",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { params: MemberRefParam, headers: IdempotencyHeader, body: jsonBody(TransferBody) },
  responses: {
    201: json(
      z.object({ transfer_id: z.string(), points: z.int(), transaction: TransactionSchema, balance: BalanceSchema }).openapi("Transfer"),
      "Sent: the sender's transaction and balance.",
    ),
    404: problem("No such member is linked to you.", "member_not_found"),
    422: problem("Refused.", "receive_code_invalid", "transfer_limit_reached", "insufficient_points"),
  },
});

const referralCode = createRoute({
  method: "get",
  path: "/v1/members/{member}/referral-code",
  tags: ["Referrals"],
  summary: "Your member's referral code (one, stable)",
  description: "A friend enrolled with it (POST /v1/members, referral_code) earns both members a bonus on the friend's first earn.",
  security,
  middleware: [requirePartner()] as const,
  request: { params: MemberRefParam },
  responses: {
    200: json(z.object({ code: z.string() }).openapi("ReferralCode"), "The code."),
    404: problem("No such member is linked to you.", "member_not_found"),
  },
});

export function registerMembers(app: OpenAPIHono<AppEnv>) {
  app.openapi(enrol, (c) =>
    idempotent(c, async (tx) => {
      const { created, member } = await enrolMember(tx, c.var.services.config, callingPartner(c), c.req.valid("json"), c.var.services.now());
      return { status: created ? 201 : 200, body: member };
    }),
  );
  app.openapi(read, async (c) => {
    const member = await authorizedRead(c, () => getMember(c.var.services.db(), callingPartner(c), c.req.valid("param").member, c.var.services.now()));
    return c.json(member, 200);
  });
  app.openapi(linkCode, (c) =>
    idempotent(c, async (tx) => ({
      status: 201,
      body: await createLinkCodeForPartner(tx, callingPartner(c), c.req.valid("param").member, c.var.services.now()),
    })),
  );
  app.openapi(link, (c) =>
    idempotent(c, async (tx) => {
      const { code, external_ref } = c.req.valid("json");
      return { status: 201, body: await redeemLinkCode(tx, callingPartner(c), code, external_ref, c.var.services.now()) };
    }),
  );
  app.openapi(unlink, async (c) => {
    await spendToken(c, c.var.services.db()); // its own commit: a refused change still spends the token
    await c.var.services.db().transaction((tx) => unlinkForPartner(tx, callingPartner(c), c.req.valid("param").member, c.var.services.now()));
    return c.body(null, 204);
  });
  app.openapi(receiveCode, (c) =>
    idempotent(c, async (tx) => ({
      status: 201,
      body: await createReceiveCodeForPartner(tx, callingPartner(c), c.req.valid("param").member, c.var.services.now()),
    })),
  );
  app.openapi(transfer, async (c) => {
    const { code, points, reference } = c.req.valid("json");
    return ledgerPosting(c, { op: "transfer", input: { member: c.req.valid("param").member, code_hash: await hashReceiveCode(code), points, reference } });
  });
  app.openapi(referralCode, async (c) => {
    const body = await authorizedRead(c, () => referralCodeForPartner(c.var.services.db(), callingPartner(c), c.req.valid("param").member, c.var.services.now()));
    return c.json(body, 200);
  });
  app.openapi(portalSession, (c) =>
    idempotent(c, async (tx) => {
      const base = linkBase(c.var.services.config);
      return { status: 201, body: await createPortalLogin(tx, callingPartner(c), c.req.valid("param").member, c.var.services.now(), base) };
    }),
  );
}
