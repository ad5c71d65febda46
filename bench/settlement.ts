/**
 * Figure 6: a settlement run over 1,000,000 postings in its period against a bare GROUP BY over
 * the same rows, with as much history again outside the period (which must not slow it down).
 */
import { sql } from "drizzle-orm";
import type { DbHandle } from "../src/db/database.js";
import { computeStatements } from "../src/settlement/compute.js";

export interface SettlementFigure {
  postings_in_period: number;
  postings_outside: number;
  settlement_ms: number[];
  group_by_ms: number[];
  ratio: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Fills the ledger tables directly (this measures reading, not posting): earns, burns with lot lineage, reversals, refunds. */
export async function seedPostings(handle: DbHandle, count: number, from: string, days: number, log: (s: string) => void) {
  const db = handle.db;
  await db.execute(sql`
    insert into partners (id, name, category, status, settlement_currency, billing, issue_price_per_point, redemption_price_per_point, settlement_period, document)
    select 'bench-' || i, 'Bench ' || i, 'retail', 'active', 'EUR', case when i % 5 = 0 then 'redemption' else 'issuance' end,
           ('0.0' || (10 - i % 3))::numeric, ('0.00' || (5 + i % 4))::numeric, 'monthly', '{}'::jsonb
      from generate_series(1, 10) i on conflict do nothing`);
  const batch = 250_000;
  for (let offset = 0; offset < count; offset += batch) {
    const n = Math.min(batch, count - offset);
    // Type by residue: 0-5 earn, 6-8 burn, 9 reversal/refund alternating.
    await db.execute(sql`
      insert into postings (id, type, partner_id, member_id, points, base_points, bonus_points, operator_funded_points, reference, created_at,
                            settlement_currency, billing, issue_price_per_point, redemption_price_per_point, original_id)
      select 'txn_b' || ${from} || lpad((${offset} + g)::text, 21, '0'),
             case when g % 10 < 6 then 'earn' when g % 10 < 9 then 'burn' when g % 20 = 9 then 'earn_reversal' else 'burn_refund' end,
             'bench-' || (1 + g % 10), 'mbr_bench' || (g % 5000), 1 + g % 500, 1 + g % 500, 0, case when g % 7 = 0 then 1 else 0 end, 'bench',
             ${from}::timestamptz + ((${offset} + g)::double precision / ${count}) * interval '1 day' * ${days},
             'EUR', case when (1 + g % 10) % 5 = 0 then 'redemption' else 'issuance' end,
             ('0.0' || (10 - (1 + g % 10) % 3))::numeric, ('0.00' || (5 + (1 + g % 10) % 4))::numeric,
             case when g % 10 = 9 then 'txn_b' || ${from} || lpad((${offset} + g - 9)::text, 21, '0') end
        from generate_series(1, ${n}) g`);
    // Each burn (and refund) spent from one earlier earn's lot.
    await db.execute(sql`
      insert into lot_moves (posting_id, lot_id, points)
      select 'txn_b' || ${from} || lpad((${offset} + g)::text, 21, '0'), 'txn_b' || ${from} || lpad((${offset} + g - (g % 10) + (g / 10) % 6)::text, 21, '0'),
             case when g % 10 = 9 then (1 + g % 500) else -(1 + g % 500) end
        from generate_series(1, ${n}) g where g % 10 >= 6 and (g % 10 < 9 or g % 20 <> 9)`);
    log(`  seeded ${offset + n} of ${count} postings from ${from}`);
  }
  await db.execute(sql`analyze postings`);
  await db.execute(sql`analyze lot_moves`);
}

export async function benchSettlement(handle: DbHandle, runs: number, log: (s: string) => void, size = 1_000_000): Promise<SettlementFigure> {
  log(`figure 6: seeding ${size} postings in 2026-10 and ${size} before it`);
  await seedPostings(handle, size, "2026-09-01", 30, log); // history outside the period
  await seedPostings(handle, size, "2026-10-01", 30, log); // the period
  const settlement: number[] = [];
  const groupBy: number[] = [];
  const until = new Date("2026-11-01T00:00:00Z");
  for (let i = 0; i < runs; i++) {
    groupBy.push(
      await time(() =>
        handle.db.execute(sql`select partner_id, type, sum(points) from postings
                               where created_at >= '2026-10-01' and created_at < '2026-11-01' group by 1, 2`),
      ),
    );
    settlement.push(await time(() => computeStatements(handle.db, "2026-10-01", "2026-11-01", until)));
  }
  const ratio = median(settlement) / median(groupBy);
  return { postings_in_period: size, postings_outside: size, settlement_ms: settlement, group_by_ms: groupBy, ratio };
}
