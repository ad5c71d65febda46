/**
 * A retrying load of earns, burns and holds (same Idempotency-Key on every retry of an operation)
 * and the checks that follow faults: each acknowledged posting exactly once, refusals absent,
 * balances equal to a client-side model. Used by the fault test and `npm run soak`.
 */
import { sql } from "drizzle-orm";
import { PartnerClient, randomId } from "../src/client/index.js";
import type { Database } from "../src/db/database.js";

export interface FaultOp {
  kind: "earn" | "burn" | "hold";
  member: string;
  points: number;
  reference: string;
  key: string;
}

export interface FaultLoadResult {
  ops: FaultOp[];
  outcomes: Map<string, { status: number; code?: string; credited?: number }>;
  unavailable: { status: number; retryAfter: string | null; body: unknown }[];
}

export function makeOps(members: string[], count: number, prefix: string, seed = 99): FaultOp[] {
  let s = seed;
  const rand = (k: number) => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31), s % k);
  return Array.from({ length: count }, (_, i) => ({
    kind: (["earn", "earn", "burn", "hold"] as const)[rand(4)]!,
    member: members[rand(members.length)]!,
    points: 1 + rand(50),
    reference: `${prefix}-${i}`,
    key: randomId(),
  }));
}

/** Live counters of every retrying load in this process (the soak's watchdog prints them). */
export const loadProgress = { attempts: 0, answers: 0, unavailable: 0, inFlight: 0, lastAnswerAt: Date.now() };

/**
 * Runs `ops` over `width` clients; each retries (same key, fresh token) until a definitive answer.
 * `until` stops it early: no new operation starts and no retry is made once it returns true.
 */
export async function runRetryingLoad(client: PartnerClient, ops: FaultOp[], width: number, until?: () => boolean): Promise<FaultLoadResult> {
  const outcomes: FaultLoadResult["outcomes"] = new Map();
  const unavailable: FaultLoadResult["unavailable"] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < ops.length && !(until?.() ?? false)) {
        const op = ops[next++]!;
        const body =
          op.kind === "earn"
            ? { member: op.member, amount_minor: 100, currency: "EUR", reference: op.reference, points: op.points }
            : { member: op.member, points: op.points, reference: op.reference };
        const path = op.kind === "earn" ? "/v1/earn" : op.kind === "burn" ? "/v1/burn" : "/v1/holds";
        for (let attempt = 0; attempt < 600 && !(until?.() ?? false); attempt++) {
          loadProgress.attempts++;
          loadProgress.inFlight++;
          const res = await client
            .request<{ code?: string; transaction?: { points: number } }>("POST", path, body, { idempotencyKey: op.key })
            .catch(() => ({ status: 0, headers: new Headers(), body: {} as { code?: string; transaction?: { points: number } }, replayed: false }));
          loadProgress.inFlight--;
          if (res.status) {
            loadProgress.answers++;
            loadProgress.lastAnswerAt = Date.now();
          }
          if (res.status >= 500 || res.status === 0) {
            if (res.status) loadProgress.unavailable++;
            if (res.status) unavailable.push({ status: res.status, retryAfter: res.headers.get("retry-after"), body: res.body });
            await new Promise((r) => setTimeout(r, res.status === 0 ? 100 : 20));
            continue;
          }
          // An earn credits base plus any tier bonus: the answer says how much.
          outcomes.set(op.reference, { status: res.status, code: res.body.code, credited: res.body.transaction?.points });
          break;
        }
      }
    }),
  );
  return { ops: ops.slice(0, next), outcomes, unavailable };
}

/** Problems found comparing the database with what clients were told; [] when all agree. */
export async function checkAgainstModel(db: Database, result: FaultLoadResult, prefix: string): Promise<string[]> {
  const problems: string[] = [];
  const rows = (await db.execute(sql`select reference, count(*)::int as n from postings where reference like ${prefix + "-%"} group by reference`)) as unknown as {
    rows: { reference: string; n: number }[];
  };
  const present = new Map(rows.rows.map((r) => [r.reference, r.n]));
  const model = new Map<string, { available: number; held: number }>();
  for (const op of result.ops) {
    const o = result.outcomes.get(op.reference);
    if (!o) {
      problems.push(`${op.reference}: no definitive answer`);
      continue;
    }
    const b = model.get(op.member) ?? { available: 0, held: 0 };
    model.set(op.member, b);
    if (o.status === 201) {
      if (present.get(op.reference) !== 1) problems.push(`${op.reference}: acknowledged but present ${present.get(op.reference) ?? 0} times`);
      if (op.kind === "earn") b.available += o.credited ?? Number.NaN;
      else {
        b.available -= op.points;
        if (op.kind === "hold") b.held += op.points;
      }
    } else {
      if (!(o.status === 422 && o.code === "insufficient_points")) problems.push(`${op.reference}: unexpected ${o.status} ${o.code}`);
      if (present.has(op.reference)) problems.push(`${op.reference}: refused but present`);
    }
  }
  for (const [member, b] of model) {
    const r = (await db.execute(sql`select available::int, held::int from members where id = ${member}`)) as unknown as { rows: { available: number; held: number }[] };
    const got = r.rows[0]!;
    if (got.available !== b.available || got.held !== b.held) problems.push(`${member}: database ${JSON.stringify(got)} vs model ${JSON.stringify(b)}`);
  }
  return problems;
}
