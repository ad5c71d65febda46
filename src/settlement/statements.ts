import { toCsv } from "../lib/csv.js";
/**
 * Statements as partners and finance see them: the stored row as the API object (amounts in the
 * currency's own decimals), the platform's signature over it, a partner's own final statements,
 * and a run's statements as CSV.
 */
import { and, desc, eq, lt, or } from "drizzle-orm";
import { CompactSign } from "jose";
import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { statements } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import { currencyExponent } from "../lib/money.js";
import { stableStringify } from "../lib/json.js";
import { platformSigner } from "../platform/keys.js";
import type { StatementFigures } from "./compute.js";
import type { RunView } from "./runs.js";

export const STATEMENT_TYPE = "coalition-statement+jws";

export interface Statement extends StatementFigures {
  statement_id: string;
  run_id: string;
  status: "draft" | "final";
  number: string | null;
  signature?: string;
}

export function statementView(row: typeof statements.$inferSelect): Statement {
  const view: Statement = {
    statement_id: row.id,
    run_id: row.runId,
    status: row.status,
    number: row.number,
    partner_id: row.partnerId,
    period_start: row.periodStart,
    period_end: row.periodEnd,
    currency: row.currency,
    billing: row.billing as Statement["billing"],
    earned_points: row.earnedPoints,
    earn_reversed_points: row.earnReversedPoints,
    burned_points: row.burnedPoints,
    burn_refunded_points: row.burnRefundedPoints,
    expired_points: row.expiredPoints,
    operator_funded_points: row.operatorFundedPoints,
    issuance_amount: trimScale(row.issuanceAmount, row.currency),
    redemption_amount: trimScale(row.redemptionAmount, row.currency),
    rewards_amount: trimScale(row.rewardsAmount, row.currency),
    net_amount: trimScale(row.netAmount, row.currency),
    entry_count: row.entryCount,
  };
  if (row.signature) view.signature = row.signature;
  return view;
}

// numeric(24,4) comes back with 4 decimals; show the currency's own.
function trimScale(value: string, currency: string): string {
  const digits = currencyExponent(currency);
  const [w, f = ""] = value.split(".");
  return digits === 0 ? w! : `${w}.${f.padEnd(digits, "0").slice(0, digits)}`;
}

/** A compact JWS over the statement (without its signature), by the platform's current key. */
export async function signStatement(config: Config, statement: Statement): Promise<string> {
  const { key, kid, alg } = await platformSigner(config);
  const { signature: _s, ...payload } = statement;
  return new CompactSign(new TextEncoder().encode(stableStringify(payload))).setProtectedHeader({ alg, kid, typ: STATEMENT_TYPE }).sign(key);
}

/** A partner's own final statements, newest period first. */
export async function listPartnerStatements(db: Executor, partnerId: string, limit: number, cursor?: string) {
  const after = cursor ? decodeStatementCursor(cursor) : undefined;
  const rows = await db
    .select()
    .from(statements)
    .where(
      and(
        eq(statements.partnerId, partnerId),
        eq(statements.status, "final"),
        after ? or(lt(statements.periodStart, after[0]), and(eq(statements.periodStart, after[0]), lt(statements.id, after[1]))) : undefined,
      ),
    )
    .orderBy(desc(statements.periodStart), desc(statements.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit).map(statementView);
  const last = page.at(-1);
  return { data: page, next_cursor: rows.length > limit && last ? btoa(JSON.stringify([last.period_start, last.statement_id])) : null };
}

function decodeStatementCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(atob(cursor)) as unknown;
    if (Array.isArray(v) && /^\d{4}-\d{2}-\d{2}$/.test(String(v[0])) && /^stmt_[0-9a-z]{26}$/.test(String(v[1]))) return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw validationFailed([{ path: "cursor", message: "is not a cursor this API returned" }]);
}

export async function getPartnerStatement(db: Executor, partnerId: string, statementId: string): Promise<Statement> {
  const [row] = await db
    .select()
    .from(statements)
    .where(and(eq(statements.id, statementId), eq(statements.partnerId, partnerId), eq(statements.status, "final")));
  if (!row) throw new DomainError("not_found", "No such statement.");
  return statementView(row);
}

const CSV_COLUMNS = [
  "statement_id",
  "number",
  "status",
  "partner_id",
  "period_start",
  "period_end",
  "currency",
  "billing",
  "earned_points",
  "earn_reversed_points",
  "burned_points",
  "burn_refunded_points",
  "expired_points",
  "operator_funded_points",
  "issuance_amount",
  "redemption_amount",
  "rewards_amount",
  "net_amount",
  "entry_count",
] as const;

/** RFC 4180 CSV of a run's statements; cells that could start a formula are quoted with a leading apostrophe. */
export function statementsCsv(run: RunView): string {
  return toCsv(CSV_COLUMNS, run.statements.map((st) => CSV_COLUMNS.map((c) => st[c as keyof Statement])));
}
