import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { commonErrors, problem } from "../http/schemas.js";
import { enrolMember, getMember } from "../members/members.js";
import { BalanceSchema, ExternalRef, IdempotencyHeader, json, jsonBody, MemberRefParam, security } from "./common.js";

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
    ...commonErrors,
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
  responses: { 200: json(MemberSchema, "The member."), 404: problem("No such member is linked to you."), ...commonErrors },
});

export function registerMembers(app: OpenAPIHono<AppEnv>) {
  app.openapi(enrol, (c) =>
    idempotent(c, async (tx) => {
      const { created, member } = await enrolMember(tx, callingPartner(c), c.req.valid("json").external_ref, c.var.services.now());
      return { status: created ? 201 : 200, body: member };
    }),
  );
  app.openapi(read, async (c) => {
    const member = await authorizedRead(c, () => getMember(c.var.services.db(), callingPartner(c), c.req.valid("param").member));
    return c.json(member, 200);
  });
}
