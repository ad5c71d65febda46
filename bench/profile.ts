/**
 * `npm run bench:profile`: where a signed earn's CPU goes. Runs the benchmark's 8-client earn
 * load against the Node server (own process, V8 CPU profile) and prints self time by package and
 * by function for the server, plus Postgres's own CPU per earn (from /proc). Loopback only,
 * scratch database, bounded (PROFILE_SECONDS, default 8).
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateDatabase } from "../src/db/migrate.js";
import { benchPartner, earnSqlScript, partnerClient, pgbenchTps, runLoad, startServer } from "./http.js";
import { adminQuery, databaseUrl, LOCAL_SERVER_URL, quoteIdent, uniqueName } from "../test/support/pg.js";

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const serverUrl = process.env.DATABASE_URL || LOCAL_SERVER_URL;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time (ms) per key, from a .cpuprofile. */
function selfTimes(profile: Profile, key: (n: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const out = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const k = key(byId.get(id)!);
    out.set(k, (out.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return out;
}

const pkg = (url: string) => {
  if (!url) return "(native / idle / gc)";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith("node:")) return url;
  const src = /\/(src|bench)\/(.*)$/.exec(url);
  return src ? `${src[1]}/${src[2]!.split("/")[0]}` : url;
};

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds used so far by every postgres process (user + system, from /proc). */
function postgresCpuSeconds(): number {
  let seconds = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres") seconds += cpuSeconds(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return seconds;
}

const name = uniqueName("coalesce_profile");
await adminQuery(serverUrl, `create database ${quoteIdent(name)}`);
const url = databaseUrl(serverUrl, name);
try {
  await migrateDatabase({ kind: "url", url });
  const partner = await benchPartner(url);
  const dir = mkdtempSync(join(tmpdir(), "coalesce-prof-"));
  const server = await startServer(url, false, ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
  const client = partnerClient(server, partner);
  const members: string[] = [];
  for (let i = 0; i < 200; i++) members.push((await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `p-${i}` })).member_id);
  const earn = (i: number) =>
    client.request("POST", "/v1/earn", { member: members[i % members.length], amount_minor: 1_000, currency: "EUR", reference: `e-${i}` }).then((r) => r.status);
  await runLoad(8, 2, earn);
  const pg0 = postgresCpuSeconds();
  const server0 = cpuSeconds(server.pid);
  const cpu0 = process.cpuUsage();
  const load = await runLoad(8, SECONDS, earn);
  const pgCpu = postgresCpuSeconds() - pg0;
  const serverCpu = cpuSeconds(server.pid) - server0;
  const cpu = process.cpuUsage(cpu0);
  // The same statements straight from pgbench: what the database alone can do.
  const sqlTps = pgbenchTps(url, 8, SECONDS, earnSqlScript(partner.id, partner.privateJwk.kid, "p-", members.length), "simple");
  await server.stop(); // the server's V8 profile is written as it exits
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!;
  const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as Profile;
  const total = [...selfTimes(profile, () => "all").values()][0]!;
  const byPkg = [...selfTimes(profile, (n) => (n.callFrame.functionName === "(idle)" ? "(idle)" : pkg(n.callFrame.url))).entries()].sort((a, b) => b[1] - a[1]);
  const byFn = [...selfTimes(profile, (n) => `${n.callFrame.functionName || "(anonymous)"} ${pkg(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`).entries()].sort(
    (a, b) => b[1] - a[1],
  );
  const perEarn = (ms: number) => `${((ms / load.ok) * 1000).toFixed(0)} µs/earn`;
  const busy = total - (byPkg.find(([k]) => k === "(idle)")?.[1] ?? 0);
  console.log(`\n${load.ok} earns in ${SECONDS} s at 8 clients (${load.tps.toFixed(0)}/s), ${load.failed} failed`);
  console.log(
    `CPU per earn: Node server ${perEarn(serverCpu * 1000)} (profiled busy ${perEarn(busy)}), Postgres ${perEarn(pgCpu * 1000)}, load generator ${perEarn((cpu.user + cpu.system) / 1000)}`,
  );
  console.log(`The earn's own SQL from pgbench at 8 clients: ${sqlTps.toFixed(0)}/s (the database's ceiling for earns here)`);
  console.log("\nNode server self time by package:");
  for (const [k, v] of byPkg.slice(0, 15)) console.log(`  ${perEarn(v).padStart(14)}  ${k}`);
  console.log("\nNode server self time by function:");
  for (const [k, v] of byFn.slice(0, Number(process.env.PROFILE_TOP ?? 30))) console.log(`  ${perEarn(v).padStart(14)}  ${k}`);
} finally {
  await adminQuery(serverUrl, `drop database if exists ${quoteIdent(name)} with (force)`);
}
