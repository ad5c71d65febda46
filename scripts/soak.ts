/**
 * `npm run soak -- --minutes N`: the fault test's load for N minutes on a scratch database —
 * retrying earns, burns and holds while the app's connections are killed every few hundred
 * milliseconds and the Postgres server is restarted once halfway — then every check: each
 * acknowledged posting once, balances equal the clients' model, ledger invariants. Loopback only.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { PartnerClient } from "../src/client/index.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { migrateDatabase } from "../src/db/migrate.js";
import { serveNode } from "../src/entry/node.js";
import { verifyLedger } from "../src/ledger/verify.js";
import { benchPartner } from "../bench/http.js";
import { checkAgainstModel, loadProgress, makeOps, runRetryingLoad } from "../bench/fault-load.js";
import { adminQuery, databaseUrl, LOCAL_SERVER_URL, quoteIdent, uniqueName } from "../test/support/pg.js";

const { values } = parseArgs({ options: { minutes: { type: "string", default: "10" } } });
const minutes = Math.min(120, Math.max(0.5, Number(values.minutes)));
const serverUrl = process.env.DATABASE_URL || LOCAL_SERVER_URL;
const name = uniqueName("coalesce_soak");
const log = (s: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);

function restartPostgres(): boolean {
  try {
    const version = readdirSync("/etc/postgresql")[0];
    execFileSync("pg_ctlcluster", ["--skip-systemctl-redirect", version!, "main", "restart"], { stdio: "ignore", timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

await adminQuery(serverUrl, `create database ${quoteIdent(name)}`);
const url = databaseUrl(serverUrl, name);
let failed = false;
try {
  await migrateDatabase({ kind: "url", url });
  const partner = await benchPartner(url);
  const handle = await openDatabase({ kind: "pg", url: `${url}?application_name=coalesce-soak-app`, max: 8 });
  const { generateKeyPair, exportJWK } = await import("jose");
  const platform = { ...(await exportJWK((await generateKeyPair("ES256", { extractable: true })).privateKey)), kid: "soak", alg: "ES256" };
  const config = loadConfig({ ENVIRONMENT: "development", PLATFORM_SIGNING_KEY: JSON.stringify(platform) });
  const server = await serveNode({ config, handle, port: 0, jobs: true });
  const client = new PartnerClient({ baseUrl: server.url, issuer: partner.id, privateJwk: partner.privateJwk });
  const admin = await openDatabase({ kind: "pg", url, max: 1 });
  const deadline = Date.now() + minutes * 60_000;
  const halfway = Date.now() + (minutes * 60_000) / 2;
  let kills = 0;
  let restarted: boolean | null = null;
  let stop = false;
  const chaos = (async () => {
    while (!stop) {
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
      if (restarted === null && Date.now() > halfway) {
        log("restarting the Postgres server");
        restarted = restartPostgres();
        log(restarted ? "Postgres is back" : "could not restart Postgres (not root, or no cluster): continuing without");
        continue;
      }
      try {
        const r = (await admin.db.execute(
          sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'coalesce-soak-app'`,
        )) as unknown as { rows: { n: number }[] };
        kills += r.rows[0]!.n;
      } catch {
        // the admin connection itself was cut by the restart; the pool reconnects
      }
    }
  })();

  // Watchdog: when answers stop coming, say what the app's connections are doing.
  let longestStallMs = 0;
  let lastReport = 0;
  const watchdog = setInterval(() => {
    const stall = Date.now() - loadProgress.lastAnswerAt;
    longestStallMs = Math.max(longestStallMs, stall);
    if (stall < 10_000 || Date.now() - lastReport < 10_000) return;
    lastReport = Date.now();
    void (async () => {
      const r = (await Promise.race([
        admin.db.execute(
          sql`select state, wait_event_type, wait_event, left(query, 60) as query, now() - query_start as age from pg_stat_activity where application_name = 'coalesce-soak-app'`,
        ),
        new Promise((_, reject) => setTimeout(() => reject(new Error("admin query timed out")), 5_000)),
      ]).catch((e: unknown) => ({ rows: [String(e)] }))) as { rows: unknown[] };
      log(`no answer for ${Math.round((Date.now() - loadProgress.lastAnswerAt) / 1000)} s: ${JSON.stringify(loadProgress)}; pool ${JSON.stringify(handle.poolStats?.())}; app backends: ${JSON.stringify(r.rows)}`);
    })();
  }, 250);
  watchdog.unref();

  let batch = 0;
  let acknowledged = 0;
  let refused = 0;
  let unavailable = 0;
  const problems: string[] = [];
  while (Date.now() < deadline) {
    batch++;
    const members: string[] = [];
    for (let i = 0; members.length < 8 && i < 200; i++) {
      const res = await client.request<{ member_id: string }>("POST", "/v1/members", { external_ref: `soak-${batch}-${members.length}` }).catch(() => null);
      if (res) loadProgress.lastAnswerAt = Date.now();
      if (res && res.status < 300) members.push(res.body.member_id);
      else await new Promise((r) => setTimeout(r, 100));
    }
    const prefix = `soak-${batch}`;
    const result = await runRetryingLoad(client, makeOps(members, 400, prefix, batch), 8, () => Date.now() > deadline + 60_000);
    for (const o of result.outcomes.values()) o.status === 201 ? acknowledged++ : refused++;
    unavailable += result.unavailable.length;
    problems.push(...(await checkAgainstModel(admin.db, result, prefix).catch((e: unknown) => [`check failed: ${String(e)}`])));
    log(`batch ${batch}: ${result.ops.length} operations, ${result.unavailable.length} answered 503, ${kills} connections killed so far`);
  }
  stop = true;
  clearInterval(watchdog);
  await chaos;
  log("load done; checking the ledger");
  const breaches = await verifyLedger(admin.db);
  console.log(`
soak: ${minutes} min, ${batch} batches, ${acknowledged} postings acknowledged, ${refused} refused (insufficient points),
      ${unavailable} answers 503 with Retry-After, ${kills} connections killed, Postgres restarted: ${restarted ? "yes" : "no"}
      model mismatches: ${problems.length}, ledger invariant breaches: ${breaches.length}, longest wait for any answer: ${(longestStallMs / 1000).toFixed(1)} s`);
  for (const p of problems.slice(0, 20)) console.log(`  ${p}`);
  for (const b of breaches) console.log(`  BREACH ${b.invariant}: ${JSON.stringify(b.rows.slice(0, 3))}`);
  // A stall is a failure too: callers must always get an answer (503 counts), never silence.
  failed = problems.length > 0 || breaches.length > 0 || longestStallMs > 60_000;
  // Report first, then close, bounded: a connection cut by the restart must not hold the exit.
  log("closing");
  const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, 10_000))]);
  await bounded(server.close());
  await bounded(handle.close());
  await bounded(admin.close());
} finally {
  await adminQuery(serverUrl, `drop database if exists ${quoteIdent(name)} with (force)`).catch(() => undefined);
}
process.exit(failed ? 1 : 0);
