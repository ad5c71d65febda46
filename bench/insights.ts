/**
 * Figure 9: insights for one partner and the engagement report over a period of `size` postings,
 * with twice as much history before it (which must not slow them down), against a bare GROUP BY
 * over the period's rows.
 */
import { sql } from "drizzle-orm";
import type { DbHandle } from "../src/db/database.js";
import { computeInsights } from "../src/insights/insights.js";
import { seedPostings } from "./settlement.js";

export interface InsightsFigure {
  postings_in_period: number;
  postings_outside: number;
  partner_ms: number[];
  coalition_ms: number[];
  group_by_ms: number[];
  ratio_partner: number;
  ratio_coalition: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function benchInsights(handle: DbHandle, runs: number, log: (s: string) => void, size = 1_000_000): Promise<InsightsFigure> {
  log(`figure 9: seeding ${size} postings in 2026-10 and ${2 * size} before it`);
  await seedPostings(handle, size, "2026-08-01", 30, log);
  await seedPostings(handle, size, "2026-09-01", 30, log);
  await seedPostings(handle, size, "2026-10-01", 30, log);
  // The bench members (seedPostings spreads postings over 5,000 of them), each linked to two
  // partners, half of them first in the period.
  await handle.db.execute(sql`
    insert into members (id, created_at, last_activity_at)
    select 'mbr_bench' || g, timestamptz '2026-08-01' + (g % 90) * interval '1 day', now() from generate_series(0, 4999) g on conflict do nothing`);
  await handle.db.execute(sql`
    insert into member_links (id, member_id, partner_id, external_ref, via, created_at)
    select 'lnk_bench' || g || '_' || k, 'mbr_bench' || g, 'bench-' || (1 + (g + k * 3) % 10), 'ref-' || g || '-' || k, 'enrolment',
           timestamptz '2026-08-01' + (g % 90) * interval '1 day'
      from generate_series(0, 4999) g, generate_series(0, 1) k on conflict do nothing`);
  await handle.db.execute(sql`analyze members`);
  await handle.db.execute(sql`analyze member_links`);
  const partner: number[] = [];
  const coalition: number[] = [];
  const groupBy: number[] = [];
  for (let i = 0; i < runs; i++) {
    groupBy.push(
      await time(() =>
        handle.db.execute(sql`select partner_id, type, sum(points) from postings
                               where created_at >= '2026-10-01' and created_at < '2026-11-01' group by 1, 2`),
      ),
    );
    partner.push(await time(() => computeInsights(handle.db, "2026-10-01", "2026-11-01", { partnerId: "bench-3" })));
    coalition.push(await time(() => computeInsights(handle.db, "2026-10-01", "2026-11-01", { coalition: true })));
  }
  return {
    postings_in_period: size,
    postings_outside: 2 * size,
    partner_ms: partner,
    coalition_ms: coalition,
    group_by_ms: groupBy,
    ratio_partner: median(partner) / median(groupBy),
    ratio_coalition: median(coalition) / median(groupBy),
  };
}
