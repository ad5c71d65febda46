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
import { adminQuery, databaseUrl, LOCAL_SERVER_URL, pgReachable, quoteIdent, uniqueName } from "../test/support/pg.js";
import { buildWorkerBundle } from "./size.js";

const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const SIZE = Number(process.env.BENCH_SETTLEMENT_POSTINGS ?? 1_000_000);
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
    const bundle = buildWorkerBundle();
    results.bundle = bundle;
    rows.push({ figure: "7. Worker bundle, gzipped", measured: `${(bundle.gzip / 1024).toFixed(1)} KiB`, goal: "reported", met: null });
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
