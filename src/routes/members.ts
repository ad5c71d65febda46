import { linkBase } from "../config.js";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, spendToken } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { enrolMember, getMember } from "../members/members.js";
import { createLinkCodeForPartner, redeemLinkCode, unlinkForPartner } from "../members/links.js";
import { createPortalLogin } from "../members/portal.js";
import { BalanceSchema, ExternalRef, IdempotencyHeader, json, jsonBody, MemberRefParam, security, EmptyBody, optionalBody } from "./common.js";

const MemberSchema = z
  .object({ member_id: z.string(), external_ref: z.string(), tier: z.string(), balance: BalanceSchema })
  .openapi("Member");

const enrol = createRoute({
  method: "post",
  path: "/v1/members",
  tags: ["Members"],
  summary: "Enrol a customer as a member",
  description: "A new member linked to your customer; 200 with the same member if you already linked that external_ref.",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(z.strictObject({ external_ref: ExternalRef })) },
  responses: {
    201: json(MemberSchema, "Enrolled."),
    200: json(MemberSchema, "Already enrolled by you: the same member."),
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

export function registerMembers(app: OpenAPIHono<AppEnv>) {
  app.openapi(enrol, (c) =>
    idempotent(c, async (tx) => {
      const { created, member } = await enrolMember(tx, callingPartner(c), c.req.valid("json").external_ref, c.var.services.now());
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
  app.openapi(portalSession, (c) =>
    idempotent(c, async (tx) => {
      const base = linkBase(c.var.services.config);
      return { status: 201, body: await createPortalLogin(tx, callingPartner(c), c.req.valid("param").member, c.var.services.now(), base) };
    }),
  );
}
