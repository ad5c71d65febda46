import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, requireStaff } from "../http/auth.js";
import { computeInsights } from "../insights/insights.js";
import { json, security, staffSecurity } from "./common.js";

const Range = z.strictObject({
  from: z.iso.date().max(10).openapi({ example: "2026-11-01" }),
  to: z.iso.date().max(10).openapi({ example: "2026-12-01", description: "Exclusive; at most 366 days after from." }),
});

const InsightsSchema = z
  .object({
    period_start: z.string(),
    period_end: z.string(),
    active_members: z.int().openapi({ description: "Members with a transaction at the partner in the period." }),
    new_members: z.int().openapi({ description: "Members first linked to the partner in the period." }),
    repeat_members: z.int().openapi({ description: "Members with at least two earns there in the period." }),
    repeat_rate: z.string().openapi({ description: "repeat ÷ active, 4 decimals.", example: "0.2500" }),
    cross_partner_members: z.int().openapi({ description: "Its active members also active at another partner (a count only)." }),
    points_issued: z.int().openapi({ description: "Points its earns and activities credited (base and bonus, gross)." }),
    points_redeemed: z.int().openapi({ description: "Points burned at it plus those redeemed for rewards it supplies." }),
    nps: z.object({
      responses: z.int(),
      promoters: z.int().openapi({ description: "Scores 9–10." }),
      passives: z.int().openapi({ description: "Scores 7–8." }),
      detractors: z.int().openapi({ description: "Scores 0–6." }),
      score: z.int().nullable().openapi({ description: "round half-even (100 × (promoters − detractors) ÷ responses); null without responses." }),
    }),
  })
  .openapi("Insights");

const routes = {
  insights: createRoute({
    method: "get",
    path: "/v1/insights",
    tags: ["Insights"],
    summary: "Your retention metrics for a period",
    description: "Computed from the ledger for the period only. `to` is exclusive, at most 366 days after `from`.",
    security,
    middleware: [requirePartner()] as const,
    request: { query: Range },
    responses: { 200: json(InsightsSchema, "The figures.") },
  }),
  engagement: createRoute({
    method: "get",
    path: "/v1/reports/engagement",
    tags: ["Reports"],
    summary: "Retention metrics per partner and for the whole coalition",
    description:
      "Role: finance. The same figures as GET /v1/insights for every partner with anything in the period, and for the coalition: its active, repeat and " +
      "cross-partner members (active at two partners or more), the members who joined in the period, and all partners' points and surveys.",
    security: staffSecurity,
    middleware: [requireStaff("finance")] as const,
    request: { query: Range },
    responses: {
      200: json(
        z.object({ period_start: z.string(), period_end: z.string(), coalition: InsightsSchema, partners: z.array(InsightsSchema.extend({ partner_id: z.string() })).max(100_000) }).openapi("EngagementReport"),
        "The report.",
      ),
    },
  }),
};

export function registerInsights(app: OpenAPIHono<AppEnv>) {
  app.openapi(routes.insights, async (c) => {
    const { from, to } = c.req.valid("query");
    const partner = callingPartner(c);
    const figures = await authorizedRead(c, () => computeInsights(c.var.services.db(), from, to, { partnerId: partner }));
    return c.json(figures.get(partner)!, 200);
  });
  app.openapi(routes.engagement, async (c) => {
    const { from, to } = c.req.valid("query");
    const figures = await authorizedRead(c, () => computeInsights(c.var.services.db(), from, to, { coalition: true }));
    const { "*": coalition, ...rest } = Object.fromEntries(figures);
    return c.json({ period_start: from, period_end: to, coalition: coalition!, partners: Object.entries(rest).map(([partner_id, f]) => ({ partner_id, ...f })) }, 200);
  });
}
