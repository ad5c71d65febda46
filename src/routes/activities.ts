import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { requirePartner } from "../http/auth.js";
import { requireIdempotencyKey } from "../http/idempotency.js";
import { ledgerPosting } from "../http/ledger.js";
import { problem } from "../http/schemas.js";
import { ActivityName } from "../partners/document.js";
import { BalanceSchema, IdempotencyHeader, json, jsonBody, security } from "./common.js";
import { TransactionSchema } from "./ledger.js";

/** Only a survey carries a score (0–10, for NPS); a score on anything else is refused, not dropped. */
const ActivityBody = z
  .strictObject({
    member: z.string().min(1).max(140).openapi({ description: "mbr_… or ext:<your customer reference>", example: "ext:guest-1001" }),
    activity: ActivityName,
    reference: z.string().min(1).max(128).openapi({ description: "Your reference for it (the review's id, the survey response…)." }),
    score: z.int().min(0).max(10).optional().openapi({ description: "The survey's 0–10 answer (activity `survey` only); feeds NPS." }),
  })
  .superRefine((body, ctx) => {
    if (body.score !== undefined && body.activity !== "survey")
      ctx.addIssue({ code: "custom", path: ["score"], message: "is accepted only for the activity survey" });
  })
  .openapi("ActivityRequest");

export type ActivityInput = z.infer<typeof ActivityBody>;

const create = createRoute({
  method: "post",
  path: "/v1/activities",
  tags: ["Ledger"],
  summary: "Credit points for an activity (a review, a social post, a survey…)",
  description:
    "Worth your `activity_rules` points for that activity, as an `activity` transaction billed like an earn. " +
    "Refused over the rule's per-member caps (per UTC day, or in total) and your issuance limits.",
  security,
  middleware: [requirePartner(), requireIdempotencyKey()] as const,
  request: { headers: IdempotencyHeader, body: jsonBody(ActivityBody) },
  responses: {
    201: json(z.object({ transaction: TransactionSchema, balance: BalanceSchema }).openapi("ActivityResult"), "Posted."),
    404: problem("No such member is linked to you.", "member_not_found"),
    422: problem("No rule for the activity, or over a cap or limit.", "activity_limit_reached", "issuance_limit_reached", "prepaid_points_exhausted", "credit_limit_exceeded"),
  },
});

export function registerActivities(app: OpenAPIHono<AppEnv>) {
  app.openapi(create, (c) => ledgerPosting(c, { op: "activity", input: c.req.valid("json") }));
}
