import { sql } from "drizzle-orm";
import type { Executor } from "../db/database.js";
import { DomainError, type ErrorCode } from "../errors.js";

/** A refusal raised by the ledger's SQL (SQLSTATE CLnnn: message is the code, detail the text). */
export function ledgerRefusal(err: unknown): DomainError | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 5; depth++) {
    const { code, message, detail, hint } = e as { code?: unknown; message?: unknown; detail?: unknown; hint?: unknown };
    if (typeof code === "string" && /^CL[0-9]{3}$/.test(code) && code !== "CL500" && typeof message === "string") {
      const retryAfterSeconds = typeof hint === "string" && /^[0-9]+$/.test(hint) ? Number(hint) : undefined;
      return new DomainError(message as ErrorCode, typeof detail === "string" ? detail : message, retryAfterSeconds ? { retryAfterSeconds } : {});
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Runs one ledger SQL function returning jsonb, turning its refusals into typed domain errors. */
export async function ledgerSql<T>(db: Executor, fn: "ledger_call" | "ledger_quote" | "ledger_spend_token", ...args: unknown[]): Promise<T> {
  const params = args.map((a) => (typeof a === "string" ? sql`${a}` : sql`${JSON.stringify(a)}::jsonb`));
  try {
    const result = (await db.execute(sql`select ${sql.raw(fn)}(${sql.join(params, sql`, `)}) as r`)) as unknown as { rows: { r: T }[] };
    return result.rows[0]!.r;
  } catch (err) {
    throw ledgerRefusal(err) ?? err;
  }
}
