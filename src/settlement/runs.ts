import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Config } from "../config.js";
import type { Executor } from "../db/database.js";
import { settlementRuns, statements } from "../db/schema/index.js";
import { DomainError, validationFailed } from "../errors.js";
import { newId } from "../lib/ids.js";
import { computeStatements, type StatementFigures } from "./compute.js";
import { signStatement, statementView, type Statement } from "./statements.js";
import { emitEvent } from "../events/emit.js";

export type { Statement };

const MAX_PERIOD_DAYS = 366;
const FINALIZE_LOCK = 7_310_002;

export interface RunView {
  run_id: string;
  status: "draft" | "final";
  period_start: string;
  period_end: string;
  created_at: string;
  finalized_at: string | null;
  statements: Statement[];
}

function checkPeriod(start: string, end: string) {
  const days = (Date.parse(end) - Date.parse(start)) / 86_400_000;
  if (!(days >= 1)) throw validationFailed([{ path: "period_end", message: "must be after period_start (end exclusive)" }]);
  if (days > MAX_PERIOD_DAYS) throw validationFailed([{ path: "period_end", message: `a period is at most ${MAX_PERIOD_DAYS} days` }]);
}

async function assertNoFinalOverlap(tx: Executor, start: string, end: string, except?: string) {
  const [overlap] = await tx
    .select({ id: settlementRuns.id })
    .from(settlementRuns)
    .where(
      and(
        eq(settlementRuns.status, "final"),
        lt(settlementRuns.periodStart, end),
        sql`${settlementRuns.periodEnd} > ${start}`,
        except ? sql`${settlementRuns.id} <> ${except}` : undefined,
      ),
    );
  if (overlap) throw new DomainError("period_finalized", `Run ${overlap.id} has already finalized part of this period.`);
}

async function insertStatements(tx: Executor, runId: string, figures: StatementFigures[], now: Date, final?: { config: Config }) {
  const rows: (typeof statements.$inferSelect)[] = [];
  for (const f of figures) {
    let number: string | null = null;
    let signature: string | null = null;
    const id = newId("stmt", now.getTime());
    if (final) {
      const seq = (await tx.execute(sql`select nextval('statement_numbers')::text as n`)) as unknown as { rows: { n: string }[] };
      number = `ST-${f.period_start.slice(0, 4)}-${seq.rows[0]!.n.padStart(6, "0")}`;
    }
    const row: typeof statements.$inferInsert = {
      id,
      runId,
      partnerId: f.partner_id,
      periodStart: f.period_start,
      periodEnd: f.period_end,
      currency: f.currency,
      billing: f.billing,
      earnedPoints: f.earned_points,
      earnReversedPoints: f.earn_reversed_points,
      burnedPoints: f.burned_points,
      burnRefundedPoints: f.burn_refunded_points,
      expiredPoints: f.expired_points,
      operatorFundedPoints: f.operator_funded_points,
      issuanceAmount: f.issuance_amount,
      redemptionAmount: f.redemption_amount,
      rewardsAmount: f.rewards_amount,
      netAmount: f.net_amount,
      entryCount: f.entry_count,
      number,
      status: final ? "final" : "draft",
      signature,
      createdAt: now,
    };
    if (final) {
      const unsigned = statementView({ ...row, signature: null } as typeof statements.$inferSelect);
      signature = await signStatement(final.config, unsigned);
      row.signature = signature;
    }
    const [inserted] = await tx.insert(statements).values(row).returning();
    rows.push(inserted!);
  }
  return rows.map(statementView);
}

/**
 * A draft run: every partner's statement for the period (to date, if still open), stored so it
 * can be reviewed and exported. Repeatable until the period is finalized.
 */
export async function createDraftRun(tx: Executor, input: { period_start: string; period_end: string }, by: string, now: Date): Promise<RunView> {
  checkPeriod(input.period_start, input.period_end);
  await assertNoFinalOverlap(tx, input.period_start, input.period_end);
  const runId = newId("run", now.getTime());
  const cutoff = new Date(Math.min(Date.parse(`${input.period_end}T00:00:00Z`), now.getTime()));
  const [run] = await tx
    .insert(settlementRuns)
    .values({ id: runId, periodStart: input.period_start, periodEnd: input.period_end, status: "draft", createdBy: by, createdAt: now, cutoffAt: cutoff })
    .returning();
  const stmts = await insertStatements(tx, runId, await computeStatements(tx, input.period_start, input.period_end, now), now);
  return runView(run!, stmts);
}

function runView(run: typeof settlementRuns.$inferSelect, stmts: Statement[]): RunView {
  return {
    run_id: run.id,
    status: run.status,
    period_start: run.periodStart,
    period_end: run.periodEnd,
    created_at: run.createdAt.toISOString(),
    finalized_at: run.finalizedAt?.toISOString() ?? null,
    statements: stmts,
  };
}

/**
 * Finalizes a run once its period has ended: statements are recomputed from the whole closed
 * period, numbered, signed with the platform key and frozen (a trigger refuses later changes).
 * A period is finalized once: a second finalize, or a run overlapping a final one, is refused.
 */
export async function finalizeRun(tx: Executor, runId: string, by: string, now: Date, config: Config): Promise<RunView> {
  await tx.execute(sql`select pg_advisory_xact_lock(${FINALIZE_LOCK})`);
  const [run] = await tx.select().from(settlementRuns).where(eq(settlementRuns.id, runId)).for("update");
  if (!run) throw new DomainError("not_found", "No such settlement run.");
  if (run.status === "final") throw new DomainError("period_finalized", "This run is already final.");
  const end = new Date(`${run.periodEnd}T00:00:00Z`);
  if (now < end) throw new DomainError("period_not_closed", `The period ends at ${end.toISOString()}; finalize after that.`);
  await assertNoFinalOverlap(tx, run.periodStart, run.periodEnd, run.id);
  await tx.delete(statements).where(eq(statements.runId, runId));
  const stmts = await insertStatements(tx, runId, await computeStatements(tx, run.periodStart, run.periodEnd, end), now, { config });
  for (const st of stmts) {
    await emitEvent(
      tx,
      st.partner_id,
      "statement.finalized",
      { statement_id: st.statement_id, number: st.number, period_start: st.period_start, period_end: st.period_end, net_amount: st.net_amount, currency: st.currency },
      now,
    );
  }
  const [updated] = await tx
    .update(settlementRuns)
    .set({ status: "final", finalizedAt: now, finalizedBy: by, cutoffAt: end })
    .where(eq(settlementRuns.id, runId))
    .returning();
  return runView(updated!, stmts);
}

export async function getRun(db: Executor, runId: string): Promise<RunView> {
  const [run] = await db.select().from(settlementRuns).where(eq(settlementRuns.id, runId));
  if (!run) throw new DomainError("not_found", "No such settlement run.");
  const rows = await db.select().from(statements).where(eq(statements.runId, runId)).orderBy(statements.partnerId);
  return runView(run, rows.map(statementView));
}

export async function listRuns(db: Executor, limit: number): Promise<Omit<RunView, "statements">[]> {
  const rows = await db.select().from(settlementRuns).orderBy(desc(settlementRuns.createdAt)).limit(limit);
  return rows.map((r) => {
    const { statements: _s, ...view } = runView(r, []);
    return view;
  });
}

