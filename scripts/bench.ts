/**
 * `npm run bench`: measured side by side on this machine's Postgres, each figure the median of
 * at least 3 runs, printed as a table with its goal and written to bench-results/ (git-ignored).
 * Bounded: it builds a scratch database, measures, and drops it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../src/db/client.js";
import { migrateDatabase } from "../src/db/migrate.js";
import { benchSettlement } from "../bench/settlement.js";
import { benchInsights } from "../bench/insights.js";
import { benchPartner, earnSqlScript, median, partnerClient, percentile, pgbenchInit, pgbenchLatencies, pgbenchTps, runLoad, startServer } from "../bench/http.js";
import { coldStartMs } from "../bench/coldstart.js";
import { adminQuery, databaseUrl, LOCAL_SERVER_URL, pgReachable, quoteIdent, uniqueName } from "../test/support/pg.js";
import { buildWorkerBundle } from "./size.js";
import { benchWebhooks } from "../bench/webhooks.js";

const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const SIZE = Number(process.env.BENCH_SETTLEMENT_POSTINGS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ms = (x: number) => `${x.toFixed(2)} ms`;
/** BENCH_ONLY=http|settlement|insights|webhooks|bundle runs one group of figures. */
const want = (group: string) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY === group;

/** Figures 1–5 on a scratch database for the app and another for pgbench. */
async function benchHttp(appUrl: string, pgbUrl: string, rows: Row[], results: Record<string, unknown>) {
  log("figures 1–5: starting servers and pgbench");
  pgbenchInit(pgbUrl);
  const partner = await benchPartner(appUrl);
  const server = await startServer(appUrl, false);
  const unverified = await startServer(appUrl, true);
  try {
    const client = partnerClient(server, partner);
    const fast = partnerClient(unverified, partner);
    const members: string[] = [];
    for (let i = 0; i < 200; i++) members.push((await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `bench-${i}` })).member_id);
    const hot = members[0]!;
    for (let i = 0; i < 3; i++) await client.call("POST", "/v1/earn", { member: hot, amount_minor: 1, currency: "EUR", reference: `fund-${i}`, points: 100_000_000 });
    const earn = (c: typeof client) => (i: number) =>
      c.request("POST", "/v1/earn", { member: members[i % members.length], amount_minor: 1_000, currency: "EUR", reference: `b-${i}` }).then((r) => r.status);
    const burn = (i: number) => client.request("POST", "/v1/burn", { member: hot, points: 1, reference: `h-${i}` }).then((r) => r.status);
    await runLoad(4, 2, earn(client)); // warm-up

    const f1: { earn: number; tpcb: number; sql: number }[] = [];
    const f2: { burn: number; update: number }[] = [];
    const f3: { p50: number; p99: number; tpcbP50: number; tpcbP99: number }[] = [];
    const f4: { verified: number; unverified: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      log(`  run ${r + 1} of ${RUNS}`);
      f1.push({
        earn: (await runLoad(8, SECONDS, earn(client))).tps,
        tpcb: pgbenchTps(pgbUrl, 8, SECONDS),
        // What bounds figure 1 from below: the same statements with no HTTP, JWT or Node.
        sql: pgbenchTps(appUrl, 8, SECONDS, earnSqlScript(partner.id, partner.privateJwk.kid, "bench-", members.length), "simple"),
      });
      f2.push({
        burn: (await runLoad(32, SECONDS, burn)).tps,
        update: pgbenchTps(pgbUrl, 32, SECONDS, "update acct set balance = balance - 1 where id = 1 and balance >= 1;\n"),
      });
      const one = (await runLoad(1, SECONDS, earn(client))).latenciesMs;
      const tpcb = pgbenchLatencies(pgbUrl, SECONDS);
      f3.push({ p50: percentile(one, 50), p99: percentile(one, 99), tpcbP50: percentile(tpcb, 50), tpcbP99: percentile(tpcb, 99) });
      const without = (await runLoad(1, SECONDS, earn(fast))).latenciesMs;
      f4.push({ verified: percentile(one, 99), unverified: percentile(without, 99) });
    }
    const r1 = median(f1.map((x) => x.earn / x.tpcb));
    rows.push({
      figure: "1. signed earn via the Node server, 8 clients, vs pgbench TPC-B at 8",
      measured: `${r1.toFixed(2)} (${Math.round(median(f1.map((x) => x.earn)))} vs ${Math.round(median(f1.map((x) => x.tpcb)))} tps)`,
      goal: "≥ 0.5",
      met: r1 >= 0.5,
    });
    const r1sql = median(f1.map((x) => x.sql / x.tpcb));
    rows.push({
      figure: "1b. (bound) the earn's own SQL from pgbench, 8 clients, vs TPC-B at 8",
      measured: `${r1sql.toFixed(2)} (${Math.round(median(f1.map((x) => x.sql)))} vs ${Math.round(median(f1.map((x) => x.tpcb)))} tps)`,
      goal: "reported",
      met: null,
    });
    const r2 = median(f2.map((x) => x.burn / x.update));
    rows.push({
      figure: "2. signed burn on one hot member, 32 clients, vs one-row conditional UPDATE at 32",
      measured: `${r2.toFixed(2)} (${Math.round(median(f2.map((x) => x.burn)))} vs ${Math.round(median(f2.map((x) => x.update)))} tps)`,
      goal: "≥ 0.5",
      met: r2 >= 0.5,
    });
    const p99ratio = median(f3.map((x) => x.p99 / x.tpcbP99));
    rows.push({
      figure: "3. earn latency at 1 client vs TPC-B at 1 (p50, p99)",
      measured: `p50 ${ms(median(f3.map((x) => x.p50)))} vs ${ms(median(f3.map((x) => x.tpcbP50)))}; p99 ${ms(median(f3.map((x) => x.p99)))} vs ${ms(median(f3.map((x) => x.tpcbP99)))} (${p99ratio.toFixed(2)}×)`,
      goal: "p99 ≤ 3×",
      met: p99ratio <= 3,
    });
    const grow = median(f4.map((x) => x.verified - x.unverified));
    const base = median(f4.map((x) => x.unverified));
    const allowed = Math.max(0.5, base * 0.1);
    rows.push({
      figure: "4. cost of request verification: earn p99 with vs without (benchmark-only switch)",
      measured: `${grow >= 0 ? "+" : "−"}${ms(Math.abs(grow))} (${ms(median(f4.map((x) => x.verified)))} vs ${ms(base)})`,
      goal: `≤ max(0.5 ms, 10 %) = ${ms(allowed)}`,
      met: grow <= allowed,
    });
    const q0 = await server.queries();
    await earn(client)(1);
    const q1 = await server.queries();
    await burn(1);
    const q2 = await server.queries();
    rows.push({
      figure: "5. database round trips per earn / per burn (all, of which after authentication)",
      measured: `earn ${q1 - q0} (${q1 - q0 - 1}), burn ${q2 - q1} (${q2 - q1 - 1})`,
      goal: "≤ 2 after authentication",
      met: q1 - q0 - 1 <= 2 && q2 - q1 - 1 <= 2,
    });
    Object.assign(results, { earn8: f1, burn32: f2, latency1: f3, auth: f4, roundTrips: { earn: q1 - q0, burn: q2 - q1 } });
  } finally {
    await server.stop();
    await unverified.stop();
  }
}
const server = process.env.DATABASE_URL || LOCAL_SERVER_URL;
const log = (s: string) => console.error(s);

interface Row {
  figure: string;
  measured: string;
  goal: string;
  met: boolean | null;
}

async function main() {
  if (!(await pgReachable(server))) throw new Error(`no Postgres at ${server}`);
  const name = uniqueName("coalesce_bench");
  await adminQuery(server, `create database ${quoteIdent(name)}`);
  const url = databaseUrl(server, name);
  const rows: Row[] = [];
  const results: Record<string, unknown> = { date: new Date().toISOString(), runs: RUNS };
  try {
    await migrateDatabase({ kind: "url", url });
    if (want("http")) {
      const pgbName = `${name}_pgb`;
      await adminQuery(server, `create database ${quoteIdent(pgbName)}`);
      try {
        await benchHttp(url, databaseUrl(server, pgbName), rows, results);
      } finally {
        await adminQuery(server, `drop database if exists ${quoteIdent(pgbName)} with (force)`);
      }
    }
    if (want("settlement")) {
      const handle = await openDatabase({ kind: "pg", url, max: 8 });
      try {
        const s = await benchSettlement(handle, RUNS, log, SIZE);
        results.settlement = s;
        rows.push({
          figure: `6. settlement run over ${SIZE.toLocaleString("en-US")} postings (and as many outside its period) vs bare GROUP BY`,
          measured: `${s.ratio.toFixed(2)}× (${Math.round(Math.min(...s.settlement_ms))}–${Math.round(Math.max(...s.settlement_ms))} ms vs ${Math.round(Math.min(...s.group_by_ms))}–${Math.round(Math.max(...s.group_by_ms))} ms)`,
          goal: "≤ 2×",
          met: s.ratio <= 2,
        });
      } finally {
        await handle.close();
      }
    }
    if (want("insights")) {
      // A database of its own: the settlement figure's rows would be counted twice otherwise.
      const insightsName = `${name}_ins`;
      await adminQuery(server, `create database ${quoteIdent(insightsName)}`);
      const insightsUrl = databaseUrl(server, insightsName);
      await migrateDatabase({ kind: "url", url: insightsUrl });
      const handle = await openDatabase({ kind: "pg", url: insightsUrl, max: 8 });
      try {
        const f = await benchInsights(handle, RUNS, log, SIZE);
        results.insights = f;
        const range = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))} ms`;
        rows.push({
          figure: `9. insights for one partner, and the engagement report, over ${SIZE.toLocaleString("en-US")} postings in the period (and twice as many before it) vs bare GROUP BY`,
          measured: `partner ${f.ratio_partner.toFixed(2)}× (${range(f.partner_ms)}); coalition ${f.ratio_coalition.toFixed(2)}× (${range(f.coalition_ms)}); GROUP BY ${range(f.group_by_ms)}`,
          goal: "reported",
          met: null,
        });
      } finally {
        await handle.close();
        await adminQuery(server, `drop database if exists ${quoteIdent(insightsName)} with (force)`);
      }
    }
    if (want("webhooks")) {
      log("figure 8: webhook delivery with a receiver that never answers");
      const hooks = [];
      for (let r = 0; r < RUNS; r++) hooks.push(await benchWebhooks(url, r));
      results.webhooks = hooks;
      const perMinute = median(hooks.map((x) => x.perMinute));
      rows.push({
        figure: "8. webhook events delivered per minute to a healthy receiver while another times out on every attempt",
        measured: `${Math.round(perMinute).toLocaleString("en-US")}/min (${hooks[0]!.events.toLocaleString("en-US")} events in ${median(hooks.map((x) => x.seconds)).toFixed(1)} s; ${median(hooks.map((x) => x.timedOut))} timed-out attempts beside them)`,
        goal: "≥ 2,000/min",
        met: perMinute >= 2_000,
      });
    }
    if (want("bundle")) {
      const bundle = buildWorkerBundle();
      const starts = [];
      for (let r = 0; r < RUNS; r++) starts.push(await coldStartMs(bundle.dir));
      results.bundle = { ...bundle, starts };
      rows.push({
        figure: "7. Worker bundle gzipped; cold start in workerd (start, first answer)",
        measured: `${(bundle.gzip / 1024).toFixed(1)} KiB; ${Math.round(median(starts.map((s) => s.startMs)))} ms + ${Math.round(median(starts.map((s) => s.firstRequestMs)))} ms`,
        goal: "reported",
        met: null,
      });
    }
  } finally {
    await adminQuery(server, `drop database if exists ${quoteIdent(name)} with (force)`);
  }

  const dir = join(process.cwd(), "bench-results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ ...results, table: rows }, null, 2));
  console.log("\n| figure | measured | goal | met |\n|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.figure} | ${r.measured} | ${r.goal} | ${r.met === null ? "—" : r.met ? "yes" : "no"} |`);
  console.log(`\n(written to ${file})`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
