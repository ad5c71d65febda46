import { linkBase } from "../config.js";
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { requireStaff } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { createStaffLogin } from "../settlement/staff-sessions.js";
import { IdempotencyHeader, json, security, staffSecurity, EmptyBody, optionalBody } from "./common.js";

const signIn = createRoute({
  method: "post",
  path: "/v1/staff/sign-in-links",
  tags: ["Settlement"],
  summary: "A one-time sign-in link to the finance dashboard",
  description: "Role: finance. Asked for with a request signed by your staff key (`npm run finance:login`); the link works once, for 5 minutes.",
  security: staffSecurity,
  middleware: [requireStaff("finance"), requireIdempotencyKey()],
  request: { headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
  responses: { 201: json(z.object({ url: z.string(), expires_at: z.string() }).openapi("SignInLink"), "The link.") },
});

export function registerStaff(app: OpenAPIHono<AppEnv>) {
  app.openapi(signIn, (c) =>
    idempotent(c, async (tx) => {
      const sub = c.var.caller.kind === "staff" ? c.var.caller.sub : "unknown";
      const base = linkBase(c.var.services.config);
      return { status: 201, body: await createStaffLogin(tx, sub, "finance", c.var.services.now(), base) };
    }),
  );
}
