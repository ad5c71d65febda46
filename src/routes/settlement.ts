import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { authorizedRead, callingPartner, requirePartner, requireStaff } from "../http/auth.js";
import { idempotent, requireIdempotencyKey } from "../http/idempotency.js";
import { problem } from "../http/schemas.js";
import { createDraftRun, finalizeRun, getRun } from "../settlement/runs.js";
import { getPartnerStatement, listPartnerStatements, statementsCsv } from "../settlement/statements.js";
import { IdempotencyHeader, json, jsonBody, security, staffSecurity, EmptyBody, optionalBody, LimitQuery } from "./common.js";

const Day = z.iso.date().max(10).openapi({ example: "2026-11-01" });
const Amount = z.string().openapi({ description: "Exact decimal in the settlement currency, rounded half-even to minor units once.", example: "1234.56" });

export const StatementSchema = z
  .object({
    statement_id: z.string(),
    run_id: z.string(),
    status: z.enum(["draft", "final"]),
    number: z.string().nullable(),
    partner_id: z.string(),
    period_start: z.string(),
    period_end: z.string(),
    currency: z.string(),
    billing: z.enum(["issuance", "redemption"]),
    earned_points: z.int(),
    earn_reversed_points: z.int(),
    burned_points: z.int(),
    burn_refunded_points: z.int(),
    expired_points: z.int(),
    operator_funded_points: z.int(),
    issuance_amount: Amount,
    redemption_amount: Amount,
    rewards_amount: Amount.openapi({ description: "What the operator owes you as a reward supplier: your locked supplier price per unit fulfilled in the period." }),
    net_amount: Amount.openapi({ description: "issuance_amount − redemption_amount − rewards_amount; positive when the partner owes the operator." }),
    entry_count: z.int(),
    signature: z.string().optional().openapi({ description: "Final statements: a compact JWS by the platform key over this object without `signature`." }),
  })
  .openapi("Statement");

const RunSchema = z
  .object({
    run_id: z.string(),
    status: z.enum(["draft", "final"]),
    period_start: z.string(),
    period_end: z.string(),
    created_at: z.string(),
    finalized_at: z.string().nullable(),
    statements: z.array(StatementSchema),
  })
  .openapi("SettlementRun");

const RunParam = z.object({ run_id: z.string().min(1).max(64).openapi({ param: { name: "run_id", in: "path" } }) });

const routes = {
  create: createRoute({
    method: "post",
    path: "/v1/settlement-runs",
    tags: ["Settlement"],
    summary: "Draft a settlement run",
    description: "Role: finance. A draft may cover a period still open (period to date) and is repeatable until the period is finalized.",
    security: staffSecurity,
    middleware: [requireStaff("finance"), requireIdempotencyKey()],
    request: {
      headers: IdempotencyHeader,
      body: jsonBody(z.strictObject({ period_start: Day, period_end: Day.openapi({ description: "Exclusive." }) }).openapi("SettlementRunRequest")),
    },
    responses: { 201: json(RunSchema, "The draft."), 409: problem("The period is already finalized.", "period_finalized") },
  }),
  read: createRoute({
    method: "get",
    path: "/v1/settlement-runs/{run_id}",
    tags: ["Settlement"],
    summary: "A settlement run and its statements",
    security: staffSecurity,
    middleware: [requireStaff("finance")],
    request: { params: RunParam },
    responses: { 200: json(RunSchema, "The run."), 404: problem("No such run.", "not_found") },
  }),
  finalize: createRoute({
    method: "post",
    path: "/v1/settlement-runs/{run_id}/finalize",
    tags: ["Settlement"],
    summary: "Finalize a run: statements numbered, signed and frozen",
    description: "Role: finance. Only once period_end has passed (else 422 period_not_closed); a period is finalized once (409 period_finalized).",
    security: staffSecurity,
    middleware: [requireStaff("finance"), requireIdempotencyKey()],
    request: { params: RunParam, headers: IdempotencyHeader, body: optionalBody(EmptyBody) },
    responses: { 200: json(RunSchema, "Final."), 404: problem("No such run.", "not_found"), 409: problem("Already final, or overlapping a final run.", "period_finalized"), 422: problem("The period has not ended.", "period_not_closed") },
  }),
  csv: createRoute({
    method: "get",
    path: "/v1/settlement-runs/{run_id}/statements.csv",
    tags: ["Settlement"],
    summary: "A run's statements as CSV",
    security: staffSecurity,
    middleware: [requireStaff("finance")],
    request: { params: RunParam },
    responses: { 200: { description: "RFC 4180 CSV.", content: { "text/csv": { schema: z.string() } } }, 404: problem("No such run.", "not_found") },
  }),
  list: createRoute({
    method: "get",
    path: "/v1/statements",
    tags: ["Settlement"],
    summary: "Your finalized statements",
    security,
    middleware: [requirePartner()],
    request: {
      query: z.strictObject({
        limit: LimitQuery,
        cursor: z.string().min(1).max(200).optional(),
      }),
    },
    responses: { 200: json(z.object({ data: z.array(StatementSchema).max(200), next_cursor: z.string().nullable() }).openapi("StatementList"), "A page.") },
  }),
  get: createRoute({
    method: "get",
    path: "/v1/statements/{statement_id}",
    tags: ["Settlement"],
    summary: "One of your finalized statements, with its signature",
    security,
    middleware: [requirePartner()],
    request: { params: z.object({ statement_id: z.string().min(1).max(64).openapi({ param: { name: "statement_id", in: "path" } }) }) },
    responses: { 200: json(StatementSchema, "The statement."), 404: problem("No such statement.", "not_found") },
  }),
};

const staffName = (c: { var: AppEnv["Variables"] }) => (c.var.caller.kind === "staff" ? c.var.caller.sub : "unknown");

export function registerSettlement(app: OpenAPIHono<AppEnv>) {
  app.openapi(routes.create, (c) =>
    idempotent(c, async (tx) => ({ status: 201, body: await createDraftRun(tx, c.req.valid("json"), staffName(c), c.var.services.now()) })),
  );
  app.openapi(routes.read, async (c) => c.json(await authorizedRead(c, () => getRun(c.var.services.db(), c.req.valid("param").run_id)), 200));
  app.openapi(routes.finalize, (c) =>
    idempotent(c, async (tx) => ({
      status: 200,
      body: await finalizeRun(tx, c.req.valid("param").run_id, staffName(c), c.var.services.now(), c.var.services.config),
    })),
  );
  app.openapi(routes.csv, async (c) => {
    const run = await authorizedRead(c, () => getRun(c.var.services.db(), c.req.valid("param").run_id));
    c.header("content-disposition", `attachment; filename="${run.run_id}-statements.csv"`);
    return c.body(statementsCsv(run), 200, { "content-type": "text/csv; charset=utf-8" }) as never;
  });
  app.openapi(routes.list, async (c) => {
    const { limit, cursor } = c.req.valid("query");
    return c.json(await authorizedRead(c, () => listPartnerStatements(c.var.services.db(), callingPartner(c), limit ?? 50, cursor)), 200);
  });
  app.openapi(routes.get, async (c) =>
    c.json(await authorizedRead(c, () => getPartnerStatement(c.var.services.db(), callingPartner(c), c.req.valid("param").statement_id)), 200),
  );
}
