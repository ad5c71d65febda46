import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, requireStaff } from "../http/auth.js";
import { flowsReport, liabilityReport, partnerPositions } from "../settlement/reports.js";
import { json, security, staffSecurity } from "./common.js";

const Range = z.strictObject({
  from: z.iso.date().max(10).openapi({ example: "2026-01-01" }),
  to: z.iso.date().max(10).openapi({ example: "2027-01-01", description: "Exclusive." }),
});
const Points = z.object({ opening: z.int(), issued: z.int(), redeemed: z.int(), reversed: z.int(), expired: z.int(), closing: z.int() });
const Value = z.object({ opening: z.string(), issued: z.string(), redeemed: z.string(), reversed: z.string(), expired: z.string(), closing: z.string() });

const liability = createRoute({
  method: "get",
  path: "/v1/reports/liability",
  tags: ["Reports"],
  summary: "Liability roll-forward by month, in points and in value",
  description: "Role: finance. Opening, issued, redeemed (net of refunds), reversed, expired and closing points per month; value per settlement currency at locked issue prices; the breakage rate over the range.",
  security: staffSecurity,
  middleware: [requireStaff("finance")],
  request: { query: Range },
  responses: {
    200: json(
      z
        .object({
          from: z.string(),
          to: z.string(),
          months: z.array(z.object({ month: z.string(), points: Points, value: z.record(z.string(), Value) })),
          breakage_rate: z.string(),
        })
        .openapi("LiabilityReport"),
      "The report.",
    ),
  },
});

const flows = createRoute({
  method: "get",
  path: "/v1/reports/flows",
  tags: ["Reports"],
  summary: "Points earned at each partner and burned at each partner",
  description: "Role: finance. With the cross-partner matrix: points issued at one partner and redeemed at another, by lot lineage.",
  security: staffSecurity,
  middleware: [requireStaff("finance")],
  request: { query: Range },
  responses: {
    200: json(
      z
        .object({
          from: z.string(),
          to: z.string(),
          partners: z.array(z.object({ partner_id: z.string(), earned_points: z.int(), burned_points: z.int() })),
          matrix: z.array(z.object({ earned_at: z.string().nullable().openapi({ description: "The issuer; null for points the operator issued (referral bonuses)." }), burned_at: z.string(), points: z.int() })),
          rewards: z.array(
            z.object({
              supplier_id: z.string(),
              redeemed_points: z.int(),
              fulfilled_units: z.int(),
              owed_amount: z.string().openapi({ description: "Exact, at the supplier prices locked on the redemptions." }),
              currency: z.string().nullable(),
            }),
          ),
        })
        .openapi("FlowsReport"),
      "The report.",
    ),
  },
});

const positions = createRoute({
  method: "get",
  path: "/v1/reports/partners",
  tags: ["Reports"],
  summary: "Prepaid balances and outstanding (unsettled) amounts per partner",
  security: staffSecurity,
  middleware: [requireStaff("finance")],
  responses: {
    200: json(
      z
        .object({
          as_of: z.string(),
          unsettled_since: z.string().nullable(),
          partners: z.array(
            z.object({ partner_id: z.string(), currency: z.string(), prepaid_points: z.int().nullable(), credit_limit: z.string().nullable(), unsettled_net_amount: z.string() }),
          ),
        })
        .openapi("PartnerPositions"),
      "The report.",
    ),
  },
});

export function registerReports(app: OpenAPIHono<AppEnv>) {
  app.openapi(liability, async (c) => {
    const { from, to } = c.req.valid("query");
    return c.json(await authorizedRead(c, () => liabilityReport(c.var.services.db(), from, to)), 200);
  });
  app.openapi(flows, async (c) => {
    const { from, to } = c.req.valid("query");
    return c.json(await authorizedRead(c, () => flowsReport(c.var.services.db(), from, to)), 200);
  });
  app.openapi(positions, async (c) => c.json(await authorizedRead(c, () => partnerPositions(c.var.services.db(), c.var.services.now())), 200));
}
