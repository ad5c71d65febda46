/**
 * Figures 1–5: signed requests through the Node server (its own process) against pgbench on the
 * same Postgres, each run closed-loop for a fixed time.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { PartnerClient } from "../src/client/index.js";
import { openDatabase } from "../src/db/client.js";
import { applyPartnerDocument } from "../src/partners/apply.js";
import { PartnerDocument } from "../src/partners/document.js";
import { TIERS } from "../src/ledger/tiers.js";

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export interface Server {
  url: string;
  /** The server process (its CPU time is read from /proc by the profiler). */
  pid: number;
  queries(): Promise<number>;
  stop(): Promise<void>;
}

/** The bench server in its own process; `nodeFlags` go to node before the script (e.g. --cpu-prof). */
export async function startServer(databaseUrl: string, skipVerify: boolean, nodeFlags: string[] = []): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, "--import", "tsx", "bench/server.ts"], {
    env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_SKIP_VERIFY: skipVerify ? "1" : "0", PLATFORM_SIGNING_KEY: "", OPERATOR_JWKS: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid!,
    queries: async () => ((await (await fetch(`${url}/__bench/queries`)).json()) as { queries: number }).queries,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export interface BenchPartner {
  id: string;
  privateJwk: Record<string, unknown> & { kid: string; alg: string };
}

/** A partner without rate or credit limits, registered straight in the database. */
export async function benchPartner(databaseUrl: string): Promise<BenchPartner> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: "bench-k1", alg: "ES256" };
  const { d: _d, ...publicJwk } = privateJwk;
  const handle = await openDatabase({ kind: "pg", url: databaseUrl, max: 2 });
  const doc = PartnerDocument.parse({
    id: "bench-partner",
    name: "Bench Partner",
    category: "retail",
    settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    allow_explicit_points: true,
    rate_limit_per_minute: 1_000_000,
    keys: [publicJwk],
  });
  await applyPartnerDocument(handle.db, doc, { mode: "upsert", now: new Date() });
  await handle.close();
  return { id: doc.id, privateJwk };
}

export interface LoadResult {
  tps: number;
  ok: number;
  failed: number;
  latenciesMs: number[];
}

/** Closed loop: `clients` concurrent callers, each sending its next request when the last answered. */
export async function runLoad(clients: number, seconds: number, send: (i: number) => Promise<number>): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = c;
      while (performance.now() < end) {
        const t0 = performance.now();
        const status = await send(i);
        latencies.push(performance.now() - t0);
        if (status >= 200 && status < 300) ok++;
        else failed++;
        i += clients;
      }
    }),
  );
  return { tps: ok / ((performance.now() - started) / 1000), ok, failed, latenciesMs: latencies };
}

export function partnerClient(server: Server, partner: BenchPartner): PartnerClient {
  return new PartnerClient({ baseUrl: server.url, issuer: partner.id, privateJwk: partner.privateJwk });
}

// pgbench on the same server, as the machine's own limit.

function pgArgs(url: string): string[] {
  const u = new URL(url);
  return ["-h", u.hostname, "-p", u.port || "5432", "-U", decodeURIComponent(u.username || "postgres"), u.pathname.slice(1)];
}

export function pgbenchInit(url: string) {
  execFileSync("pgbench", ["-i", "-q", "-s", "10", ...pgArgs(url)], { stdio: "ignore" });
  execFileSync("psql", [...pgArgs(url).slice(0, 6), "-d", pgArgs(url)[6]!, "-qc", "drop table if exists acct; create table acct (id int primary key, balance bigint not null); insert into acct values (1, 1000000000000)"], { stdio: "ignore" });
}

export function pgbenchTps(url: string, clients: number, seconds: number, script?: string, mode: "prepared" | "simple" = "prepared"): number {
  const args = ["-n", "-M", mode, "-c", String(clients), "-j", String(Math.min(clients, 2)), "-T", String(seconds)];
  if (script) {
    const dir = mkdtempSync(join(tmpdir(), "pgb-"));
    writeFileSync(join(dir, "s.sql"), script);
    args.push("-f", join(dir, "s.sql"));
  }
  const out = execFileSync("pgbench", [...args, ...pgArgs(url)], { encoding: "utf8" });
  const m = /tps = ([0-9.]+) \(without initial connection time\)/.exec(out);
  if (!m) throw new Error(`pgbench printed no tps:\n${out}`);
  return Number(m[1]);
}

/** Per-transaction latencies (ms) of TPC-B at one client, from pgbench's log. */
export function pgbenchLatencies(url: string, seconds: number): number[] {
  const dir = mkdtempSync(join(tmpdir(), "pgbl-"));
  execFileSync("pgbench", ["-n", "-M", "prepared", "-c", "1", "-T", String(seconds), "-l", "--log-prefix", join(dir, "log"), ...pgArgs(url)], { stdio: "ignore" });
  const latencies: number[] = [];
  for (const f of readdirSync(dir)) for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts.length >= 3) latencies.push(Number(parts[2]) / 1000);
  }
  return latencies;
}

/**
 * A pgbench script sending exactly the statements the server sends for one signed earn (the
 * key lookup, then `ledger_call` with the same arguments), with fresh ids each time: the database's
 * own ceiling for earns, with no HTTP, JWT or Node in the way. Run it in simple mode: the app's
 * driver sends unnamed statements too, not prepared ones. Members are `ext:<prefix><0..count-1>`.
 */
export function earnSqlScript(partnerId: string, kid: string, memberPrefix: string, members: number): string {
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const tiers = q(JSON.stringify(TIERS));
  return `\\set r random(1, 4000000000000000000)
\\set m random(0, ${members - 1})
select p.status as partner_status, p.rate_limit_per_minute, k.alg, k.jwk, k.status as key_status from partners p left join partner_keys k on k.partner_id = p.id and k.kid = ${q(kid)} where p.id = ${q(partnerId)};
select ledger_call('earn', jsonb_build_object('member', ${q(`ext:${memberPrefix}`)} || :m::int, 'amount_minor', 1000, 'currency', 'EUR', 'reference', 'sql-' || :r::bigint, 'partner_id', ${q(partnerId)}), jsonb_build_object('issuer', ${q(partnerId)}, 'jti', 'jti-' || :r::bigint || '-' || :client_id::int, 'jti_expires_at', now() + interval '6 minutes', 'partner_id', ${q(partnerId)}, 'rate_limit', 1000000, 'shards', 8, 'shard', :client_id::int % 8, 'window_start', date_trunc('minute', now()), 'retry_after', 30, 'now', clock_timestamp(), 'posting_id', 'txn_sql' || :r::bigint || '_' || :client_id::int, 'hold_id', 'hold_sql' || :r::bigint, 'tiers', ${tiers}::jsonb, 'tier_window_start', now() - interval '12 months', 'expiry_months', 24, 'scope', ${q(`partner:${partnerId}`)}, 'idem_key', 'idem-' || :r::bigint || '-' || :client_id::int, 'fingerprint', md5(:r::bigint::text), 'request_id', 'req_' || :r::bigint, 'currency_exponent', 2));
`;
}
