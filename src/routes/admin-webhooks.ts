import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, requireStaff } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { listDeadEvents, redeliverEvent } from "../events/admin.js";
import { PartnerId } from "../partners/document.js";
import { IdempotencyHeader, json, security, staffSecurity, EmptyBody, optionalBody, LimitQuery } from "./common.js";

const EventSchema = z
  .object({
    event_id: z.string(),
    partner_id: z.string(),
    type: z.string(),
    status: z.string(),
    attempts: z.int(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    next_attempt_at: z.string(),
  })
  .openapi("WebhookEvent");

const dead = createRoute({
  method: "get",
  path: "/v1/admin/webhooks/dead",
  tags: ["Admin"],
  summary: "Events whose delivery gave up (dead letters)",
  security: staffSecurity,
  middleware: [requireStaff("admin")],
  request: {
    query: z.strictObject({
      partner_id: PartnerId.optional(),
      limit: LimitQuery,
    }),
  },
  responses: { 200: json(z.object({ data: z.array(EventSchema).max(200) }).openapi("WebhookEventList"), "Dead events.") },
});

const redeliver = createRoute({
  method: "post",
  path: "/v1/admin/webhooks/{event_id}/redeliver",
  tags: ["Admin"],
  summary: "Send an event again (same id)",
  security: staffSecurity,
  middleware: [requireStaff("admin"), requireIdempotencyKey()],
  request: { params: z.object({ event_id: z.string().min(1).max(64).openapi({ param: { name: "event_id", in: "path" } }) }), headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
  responses: { 200: json(EventSchema, "Queued."), 404: problem("No such event.", "not_found") },
});

export function registerAdminWebhooks(app: OpenAPIHono<AppEnv>) {
  app.openapi(dead, async (c) => {
    const { partner_id, limit } = c.req.valid("query");
    return c.json({ data: await authorizedRead(c, () => listDeadEvents(c.var.services.db(), partner_id, limit ?? 50)) }, 200);
  });
  app.openapi(redeliver, (c) => idempotent(c, async (tx) => ({ status: 200, body: await redeliverEvent(tx, c.req.valid("param").event_id, c.var.services.now()) })));
}
