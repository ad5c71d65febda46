import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { requireStaff } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { eraseMember } from "../members/erasure.js";
import { IdempotencyHeader, json, security, staffSecurity, EmptyBody, optionalBody } from "./common.js";

const erase = createRoute({
  method: "post",
  path: "/v1/admin/members/{member_id}/erasure",
  tags: ["Admin"],
  summary: "Erase a member's personal data (pseudonymise)",
  description:
    "Role: admin. Every partner's customer reference for the member is removed and its links, link codes and portal sessions end. " +
    "The ledger, balances and settlement totals stay exactly as they were. Repeating it is harmless.",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()] as const,
  request: {
    params: z.object({ member_id: z.string().max(30).regex(/^mbr_[0-9a-z]{26}$/).openapi({ param: { name: "member_id", in: "path" } }) }),
    headers: IdempotencyHeader,
    body: optionalBody(EmptyBody),
  },
  responses: {
    200: json(
      z.object({ member_id: z.string(), status: z.literal("erased"), erased_at: z.string(), links_removed: z.int() }).openapi("Erasure"),
      "Erased.",
    ),
    404: problem("No such member.", "member_not_found"),
  },
});

export function registerAdminMembers(app: OpenAPIHono<AppEnv>) {
  app.openapi(erase, (c) =>
    idempotent(c, async (tx) => ({ status: 200, body: await eraseMember(tx, c.req.valid("param").member_id, c.var.services.now()) })),
  );
}
