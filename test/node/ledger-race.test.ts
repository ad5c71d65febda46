/**
 * Races on real Postgres: many connections spending one member's points at once must never
 * overspend, and retries sharing an Idempotency-Key must have exactly one effect.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "drizzle-orm";
import { PartnerClient } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/client.js";
import type { DbHandle } from "../../src/db/database.js";
import { createNodeApp } from "../../src/entry/node.js";
import { BASE_URL, createHarness, type Harness, type TestPartner } from "../support/harness.js";

const onServer = inject("dbMode") === "pg";
let h: Harness;
let p: TestPartner;
let wide: DbHandle;
let client: PartnerClient;

beforeAll(async () => {
  if (!onServer) return;
  h = await createHarness();
  p = await h.partner();
  wide = await openDatabase({ kind: "pg", url: h.db.url!, max: 40 });
  const app = createNodeApp(h.config, wide);
  client = new PartnerClient({ baseUrl: BASE_URL, issuer: p.id, privateJwk: p.privateJwk, fetch: async (i, init) => app.request(i, init) });
});
afterAll(async () => {
  if (!onServer) return;
  await wide.close();
  await h.close();
});

async function pool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

describe.skipIf(!onServer)("concurrency on real Postgres", () => {
  it("2,000 concurrent burns and holds over 40 connections never overspend one member", async () => {
    const FUNDING = 5_000;
    const m = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "hot-member" });
    await client.call("POST", "/v1/earn", { member: m.member_id, amount_minor: FUNDING * 10, currency: "EUR", reference: "fund" });
    let seed = 42;
    const rand = (k: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), 1 + (seed % k));
    const ops = Array.from({ length: 2_000 }, (_, i) => ({ kind: i % 3 === 0 ? "hold" : "burn", points: rand(10) }));
    const asked = ops.reduce((s, o) => s + o.points, 0);
    expect(asked).toBeGreaterThan(FUNDING);

    const results = await pool(
      ops.map((o, i) => () =>
        client.request<{ code?: string }>("POST", o.kind === "hold" ? "/v1/holds" : "/v1/burn", { member: m.member_id, points: o.points, reference: `race-${i}` }),
      ),
      64,
    );
    const accepted = ops.filter((_, i) => results[i]!.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.every((r) => r.status === 422 && r.body.code === "insufficient_points")).toBe(true);
    const burned = accepted.filter((o) => o.kind === "burn").reduce((s, o) => s + o.points, 0);
    const held = accepted.filter((o) => o.kind === "hold").reduce((s, o) => s + o.points, 0);
    expect(burned + held).toBeLessThanOrEqual(FUNDING);
    expect(burned + held).toBeGreaterThan(FUNDING - 10); // it only stops when nothing more fits

    const balance = (await client.call<{ balance: { available: number; held: number } }>("GET", `/v1/members/${m.member_id}`)).balance;
    expect(balance).toEqual({ available: FUNDING - burned - held, pending: 0, held });
    expect(await h.verify()).toEqual([]);
  });

  it("20 concurrent retries of one earn with one Idempotency-Key: exactly one effect, one answer", async () => {
    const m = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "retry-member" });
    const body = { member: m.member_id, amount_minor: 12_345, currency: "EUR", reference: "retry" };
    const results = await Promise.all(Array.from({ length: 20 }, () => client.request("POST", "/v1/earn", body, { idempotencyKey: "one-key" })));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    for (const r of results) expect(r.body).toEqual(results[0]!.body);
    const count = (await h.db.handle.db.execute(sql`select count(*)::int as n from postings where member_id = ${m.member_id}`)) as unknown as {
      rows: { n: number }[];
    };
    expect(count.rows[0]!.n).toBe(1);
    expect(await h.verify()).toEqual([]);
  });

  it("a full burn racing a full earn reversal: exactly one wins, never a negative balance", async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 25; round++) {
      const m = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `reverse-race-${round}` });
      const earn = await client.call<{ transaction: { transaction_id: string; points: number } }>("POST", "/v1/earn", {
        member: m.member_id, amount_minor: 1_000, currency: "EUR", reference: `rr-earn-${round}`,
      });
      const points = earn.transaction.points;
      const [burn, reversal] = await Promise.all([
        client.request<{ code?: string }>("POST", "/v1/burn", { member: m.member_id, points, reference: `rr-burn-${round}` }),
        client.request<{ code?: string }>("POST", `/v1/transactions/${earn.transaction.transaction_id}/reversals`, { reference: `rr-rev-${round}` }),
      ]);
      const won = [burn.status, reversal.status].filter((s) => s === 201).length;
      expect(won, `round ${round}: burn ${burn.status} ${burn.body.code}, reversal ${reversal.status} ${reversal.body.code}`).toBe(1);
      const loser = burn.status === 201 ? reversal : burn;
      expect([loser.status, loser.body.code]).toEqual([422, "insufficient_points"]);
      outcomes.add(burn.status === 201 ? "burn" : "reversal");
      const balance = await client.call<{ balance: { available: number } }>("GET", `/v1/members/${m.member_id}`);
      expect(balance.balance.available).toBe(0);
    }
    expect(await h.verify()).toEqual([]);
    // Not an assertion on timing: both orders are legitimate, and each must hold on its own.
    console.log(`reversal race winners over 25 rounds: ${[...outcomes].join(", ")}`);
  });

  it("the expiry job skips a member a posting holds, instead of deadlocking with it over a lot", async () => {
    const m = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "expiry-lock" });
    await client.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 1_000, currency: "EUR", reference: "old" });
    const rows = async <T>(q: ReturnType<typeof sql>) => ((await h.db.handle.db.execute(q)) as unknown as { rows: T[] }).rows;
    const [lot] = await rows<{ id: string }>(sql`select id from lots where member_id = ${m.member_id}`);
    const later = new Date(Date.now() + 40 * 31 * 86_400_000).toISOString(); // past every lot's date
    const expiries = async () => (await rows<{ n: number }>(sql`select count(*)::int as n from postings where member_id = ${m.member_id} and type = 'expiry'`))[0]!.n;

    // A posting in progress holds the member (as every posting path does, before its lots) …
    await wide.db.transaction(async (posting) => {
      await posting.execute(sql`select 1 from members where id = ${m.member_id} for update`);
      // … meanwhile the expiry job runs: it must neither wait for that member nor lock its lot.
      await h.db.handle.db.transaction(async (job) => {
        await job.execute(sql`set local statement_timeout = '5s'`);
        await job.execute(sql`select ledger_expire_lots(${later}::timestamptz, 100000, 'txn_lockorder')`);
      });
      // … and the posting can still take its lot at once.
      await posting.execute(sql`set local lock_timeout = '2s'`);
      await posting.execute(sql`select 1 from lots where id = ${lot!.id} for update`);
    });
    expect(await expiries(), "a member busy during the run is left for the next run").toBe(0);
    await h.db.handle.db.execute(sql`select ledger_expire_lots(${later}::timestamptz, 100000, 'txn_lockorder2')`);
    expect(await expiries()).toBe(1);
    expect(await h.verify()).toEqual([]);
  });
});
