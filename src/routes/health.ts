import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { problem } from "../http/schemas.js";
import { problemResponse } from "../http/problem.js";
import { checkHealth } from "../ops/health.js";

const HealthSchema = z
  .object({
    status: z.literal("ok"),
    checks: z.object({ database: z.object({ status: z.literal("ok"), latency_ms: z.int() }) }),
  })
  .openapi("Health");

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness and database reachability",
  responses: {
    200: { description: "The service and its database answer.", content: { "application/json": { schema: HealthSchema } } },
    503: problem("The database cannot be reached.", "service_unavailable"),
  },
});

export function registerHealth(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, async (c) => {
    const report = await checkHealth(() => c.var.services.db());
    c.header("cache-control", "no-store");
    if (!report.ok) {
      return problemResponse(c, "service_unavailable", "The database cannot be reached.", { retryAfterSeconds: 5 }) as never;
    }
    return c.json({ status: "ok" as const, checks: { database: { status: "ok" as const, latency_ms: report.database.latency_ms } } }, 200);
  });
}
