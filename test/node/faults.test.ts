/**
 * Faults on real Postgres: a load of earns, burns and holds whose clients retry with the same
 * Idempotency-Key while the app's database connections are killed (pg_terminate_backend).
 * Afterwards every acknowledged posting is present exactly once, balances equal a client-side
 * model, and every invariant holds. The restart runs on a Postgres server of the test's own
 * (the machine's is shared by the other test files); `npm run soak` does both for longer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "drizzle-orm";
import type pg from "pg";
import { PartnerClient } from "../../src/client/index.js";
import { checkAgainstModel, loadProgress, makeOps, runRetryingLoad } from "../../bench/fault-load.js";
import { openDatabase } from "../../src/db/client.js";
import type { DbHandle } from "../../src/db/database.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";
import { privateServerAvailable, startPrivateServer } from "../support/private-pg.js";
import { benchPartner } from "../../bench/http.js";
import { migrateDatabase } from "../../src/db/migrate.js";
import { verifyLedger } from "../../src/ledger/verify.js";
import { loadConfig } from "../../src/config.js";

const onServer = inject("dbMode") === "pg";
let h: Harness;
let p: TestPartner;
let appHandle: DbHandle;
let server: RunningServer;

beforeAll(async () => {
  if (!onServer) return;
  h = await createHarness();
  p = await h.partner({ allow_explicit_points: true });
  appHandle = await openDatabase({ kind: "pg", url: `${h.db.url!}?application_name=coalesce-fault-app`, max: 8 });
  server = await serveNode({ config: h.config, handle: appHandle, port: 0, jobs: false });
});
afterAll(async () => {
  if (!onServer) return;
  await server.close();
  await appHandle.close();
  await h.close();
});

/**
 * Background work a test starts (load, killer, restarter). Each loop checks `aborted`, and
 * teardown sets it and waits for them all, so a test that fails or times out never leaves a loop
 * running against a database that teardown is about to drop.
 */
const background = { aborted: false, running: [] as Promise<unknown>[] };
function inBackground<T>(work: Promise<T>): Promise<T> {
  background.running.push(work.catch(() => undefined));
  return work;
}
afterEach(async () => {
  background.aborted = true;
  await Promise.all(background.running);
  background.running = [];
  background.aborted = false;
});
const aborted = () => background.aborted;

// Bounded by work, not by the machine's speed: at least so many kills, each after so many
// answers, and more (up to a cap) only until enough requests have met a killed connection.
const KILL_ROUNDS = 10;
const MAX_KILL_ROUNDS = 60;
const WANTED_503S = 10;
const ANSWERS_BETWEEN_KILLS = 15;
// Far above the slowest run measured (about 10 s with two CPU burners beside the suite).
const FAULT_TEST_TIMEOUT_MS = 180_000;

/** Resolves once the load has given `n` more answers (or was aborted, or finished). */
async function answersLater(n: number, done: () => boolean): Promise<void> {
  const base = loadProgress.answers;
  while (loadProgress.answers - base < n && !aborted() && !done()) await new Promise((r) => setTimeout(r, 5));
}

describe.skipIf(!onServer)("faults: connections killed under load", () => {
  it("loses nothing, doubles nothing, and answers 503 with Retry-After while the database is away", { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const client = new PartnerClient({ baseUrl: server.url, issuer: p.id, privateJwk: p.privateJwk });
    const members: string[] = [];
    for (let i = 0; i < 8; i++) members.push((await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `fault-${i}` })).member_id);
    const ops = makeOps(members, 400, "fault-op");

    let loadDone = false;
    let killed = 0;
    const load = inBackground(runRetryingLoad(client, ops, 8, aborted)).finally(() => (loadDone = true));
    const killer = inBackground(
      (async () => {
        const admin = await openDatabase({ kind: "pg", url: h.db.url!, max: 1 });
        const seen503 = loadProgress.unavailable;
        const enough = (round: number) => round >= MAX_KILL_ROUNDS || (round >= KILL_ROUNDS && loadProgress.unavailable - seen503 >= WANTED_503S);
        try {
          for (let round = 0; !enough(round) && !aborted() && !loadDone; round++) {
            await answersLater(ANSWERS_BETWEEN_KILLS, () => loadDone);
            const r = (await admin.db.execute(
              sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'coalesce-fault-app' and pid <> pg_backend_pid()`,
            )) as unknown as { rows: { n: number }[] };
            killed += r.rows[0]!.n;
          }
        } finally {
          await admin.close();
        }
      })(),
    );
    const result = await load;
    await killer;

    expect(killed).toBeGreaterThan(0);
    expect(result.unavailable.length, "some requests met a killed connection and were told to retry").toBeGreaterThan(0);
    for (const u of result.unavailable) {
      expect(u.status).toBe(503);
      expect(Number(u.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(u.body)).not.toMatch(/terminat|administrator|ECONN/i);
    }
    expect(result.outcomes.size).toBe(ops.length);
    expect(await checkAgainstModel(h.db.handle.db, result, "fault-op")).toEqual([]);
    expect(await h.verify()).toEqual([]);
    // Nothing leaked from the app's pool: every slot came back (idle or destroyed).
    await expect.poll(() => appHandle.poolStats!().total - appHandle.poolStats!().idle, { timeout: 5_000 }).toBe(0);
  });

  it("a transaction whose connection dies between checkout and BEGIN still gives its pool slot back", async () => {
    // One slot: a leaked checkout would make the next transaction wait for a connection forever.
    const handle = await openDatabase({ kind: "pg", url: h.db.url!, max: 1 });
    const pool = (handle.db as unknown as { $client: pg.Pool }).$client;
    let cuts = 3;
    // Ends the connection as it is handed out, so BEGIN is the first statement to fail on it.
    const cut = (client: pg.PoolClient) => {
      if (cuts-- > 0) void (client as unknown as pg.Client).end();
    };
    pool.on("acquire", cut);
    try {
      for (let i = 0; i < 3; i++) await expect(handle.db.transaction((tx) => tx.execute(sql`select 1`))).rejects.toThrow();
      pool.off("acquire", cut);
      const r = (await handle.db.transaction((tx) => tx.execute(sql`select 1 as one`))) as unknown as { rows: { one: number }[] };
      expect(r.rows[0]!.one).toBe(1);
      expect(handle.poolStats!()).toMatchObject({ total: 1, idle: 1, waiting: 0 });
    } finally {
      await handle.close();
    }
  });
});

describe.skipIf(!privateServerAvailable())("faults: the Postgres server restarts under load", () => {
  it("loses nothing, doubles nothing, answers 503 meanwhile, and carries on once it is back", { timeout: FAULT_TEST_TIMEOUT_MS }, async () => {
    const pgServer = (await startPrivateServer())!;
    try {
      const url = pgServer.url;
      await migrateDatabase({ kind: "url", url });
      const partner = await benchPartner(url);
      const handle = await openDatabase({ kind: "pg", url: `${url}?application_name=coalesce-restart-app`, max: 8 });
      const app = await serveNode({ config: loadConfig({ ENVIRONMENT: "test" }), handle, port: 0, jobs: false });
      try {
        const client = new PartnerClient({ baseUrl: app.url, issuer: partner.id, privateJwk: partner.privateJwk });
        const members: string[] = [];
        for (let i = 0; i < 8; i++) members.push((await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `restart-${i}` })).member_id);
        const ops = makeOps(members, 600, "restart-op", 7);
        let restarted = false;
        let loadDone = false;
        const load = inBackground(runRetryingLoad(client, ops, 8, aborted)).finally(() => (loadDone = true));
        // Restart a quarter of the way through the load, killing the app's connections first.
        const chaos = inBackground(
          (async () => {
            await answersLater(150, () => loadDone);
            if (aborted() || loadDone) return;
            const admin = await openDatabase({ kind: "pg", url, max: 1 });
            try {
              await admin.db.execute(sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'coalesce-restart-app'`);
            } finally {
              await admin.close();
            }
            await pgServer.restart();
            restarted = true;
          })(),
        );
        const result = await load;
        await chaos;
        expect(restarted).toBe(true);
        expect(result.outcomes.size).toBe(ops.length);
        expect(result.unavailable.length, "requests met the restart and were told to retry").toBeGreaterThan(0);
        for (const u of result.unavailable) {
          expect(u.status).toBe(503);
          expect(Number(u.retryAfter)).toBeGreaterThanOrEqual(1);
        }
        const check = await openDatabase({ kind: "pg", url, max: 1 });
        try {
          expect(await checkAgainstModel(check.db, result, "restart-op")).toEqual([]);
          expect(await verifyLedger(check.db)).toEqual([]);
        } finally {
          await check.close();
        }
        // Back to normal: a fresh request succeeds first time.
        expect((await client.request("POST", "/v1/earn", { member: members[0], amount_minor: 100, currency: "EUR", reference: "after" })).status).toBe(201);
      } finally {
        await app.close();
        await handle.close();
      }
    } finally {
      await pgServer.stop();
    }
  });
});
