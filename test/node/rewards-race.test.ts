/**
 * Rewards races on real Postgres, over 40 connections: stock is never oversold, a member never
 * overspends or goes past a per-member limit, and every state change of one redemption or one
 * voucher (cancel, use, fulfil, reject) happens at most once, whoever else is racing it. Every
 * answer is one the OpenAPI document declares, and every ledger invariant holds after each test.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "drizzle-orm";
import { PartnerClient } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/client.js";
import type { DbHandle } from "../../src/db/database.js";
import { createNodeApp } from "../../src/entry/node.js";
import { checkAnswersAgainstDocument } from "../support/contract-check.js";
import { BASE_URL, createHarness, type Harness, type TestPartner } from "../support/harness.js";

const onServer = inject("dbMode") === "pg";
const CONNECTIONS = 40;
const IN_FLIGHT = 64;

let h: Harness;
let wide: DbHandle;
let maker: PartnerClient; // makes redemptions for its members
let supplier: PartnerClient; // supplies the rewards: fulfils, rejects, takes vouchers
let makerPartner: TestPartner;
let supplierPartner: TestPartner;
let seq = 0;

beforeAll(async () => {
  if (!onServer) return;
  h = await createHarness();
  // 1 point per EUR: a member's funding is exact (one earn each, so no tier bonus).
  makerPartner = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  supplierPartner = await h.partner({ category: "retail" });
  wide = await openDatabase({ kind: "pg", url: h.db.url!, max: CONNECTIONS });
  const app = checkAnswersAgainstDocument(createNodeApp(h.config, wide));
  const fetch = async (i: string, init: RequestInit) => app.request(i, init);
  maker = new PartnerClient({ baseUrl: BASE_URL, issuer: makerPartner.id, privateJwk: makerPartner.privateJwk, fetch });
  supplier = new PartnerClient({ baseUrl: BASE_URL, issuer: supplierPartner.id, privateJwk: supplierPartner.privateJwk, fetch });
});
afterEach(async () => {
  if (onServer) expect(await h.verify()).toEqual([]);
});
afterAll(async () => {
  if (!onServer) return;
  await wide.close();
  await h.close();
});

interface Redemption {
  redemption_id: string;
  status: string;
  points: number;
  quantity: number;
  vouchers?: { code: string; status: string }[];
  balance?: { available: number; pending: number; held: number };
}
type Answer = { status: number; body: { code?: string } & Partial<Redemption> };

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

const rows = async <T>(q: ReturnType<typeof sql>) => ((await h.db.handle.db.execute(q)) as unknown as { rows: T[] }).rows;
const one = async <T>(q: ReturnType<typeof sql>) => (await rows<T>(q))[0]!;

async function reward(body: Record<string, unknown>): Promise<{ reward_id: string; points: number }> {
  return h.staff("admin").call("POST", "/v1/admin/rewards", {
    supplier_id: supplierPartner.id,
    kind: "voucher",
    name: "Race reward",
    points: 100,
    supplier_price: "0.9",
    ...body,
  });
}

/** A member of the maker with exactly `points` available. */
async function member(points: number): Promise<string> {
  const { member_id } = await maker.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `race-${++seq}-${Math.random()}` });
  if (points > 0) {
    const earn = await maker.call<{ balance: { available: number } }>("POST", "/v1/earn", {
      member: member_id, amount_minor: points * 100, currency: "EUR", reference: `fund-${seq}`,
    });
    expect(earn.balance.available).toBe(points);
  }
  return member_id;
}

const redeem = (memberId: string, rewardId: string, extra: Record<string, unknown> = {}) =>
  maker.request<Answer["body"]>("POST", "/v1/redemptions", { member: memberId, reward_id: rewardId, reference: `rd-${++seq}`, ...extra });
const cancel = (redemptionId: string) => maker.request<Answer["body"]>("POST", `/v1/redemptions/${redemptionId}/cancel`, {});
const use = (code: string) => supplier.request<Answer["body"]>("POST", `/v1/vouchers/${code}/use`, { reference: `till-${++seq}` });
const fulfil = (redemptionId: string) => supplier.request<Answer["body"]>("POST", `/v1/redemptions/${redemptionId}/fulfil`, { reference: `parcel-${++seq}` });
const reject = (redemptionId: string) => supplier.request<Answer["body"]>("POST", `/v1/redemptions/${redemptionId}/reject`, { reason: `no-${++seq}` });
const balance = async (memberId: string) => (await maker.call<{ balance: { available: number; pending: number; held: number } }>("GET", `/v1/members/${memberId}`)).balance;
const stock = async (rewardId: string) => (await one<{ stock: number | null }>(sql`select stock from rewards where id = ${rewardId}`)).stock;

/** An answer in a failure message: its status, and its problem code if refused. */
const show = (a: Answer) => (a.status < 300 ? String(a.status) : `${a.status} ${a.body.code}`);

/** "201 ×5, 422 reward_unavailable ×1995": what a set of answers was, for failure messages. */
const tally = (answers: Answer[]) => {
  const counts = new Map<string, number>();
  for (const a of answers) {
    const k = show(a);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(", ");
};

describe.skipIf(!onServer)("rewards under concurrency on real Postgres", () => {
  it("stock 5 and 2,000 concurrent redemptions over 40 connections: exactly 5 succeed, the rest reward_unavailable", async () => {
    const STOCK = 5;
    const ATTEMPTS = 2_000;
    const MEMBERS = 40; // each could pay for every attempt made for it: stock is the only limit
    const r = await reward({ stock: STOCK, points: 100 });
    const members = await pool(Array.from({ length: MEMBERS }, () => () => member((ATTEMPTS / MEMBERS) * 100)), 8);

    const results = await pool(
      Array.from({ length: ATTEMPTS }, (_, i) => () => redeem(members[i % MEMBERS]!, r.reward_id)),
      IN_FLIGHT,
    );
    const won = results.filter((a) => a.status === 201);
    expect(won.length, tally(results)).toBe(STOCK);
    expect(results.filter((a) => a.status !== 201).every((a) => a.status === 422 && a.body.code === "reward_unavailable"), tally(results)).toBe(true);
    expect(await stock(r.reward_id)).toBe(0);

    const counts = await one<{ redemptions: number; postings: number; vouchers: number }>(sql`
      select (select count(*)::int from redemptions where reward_id = ${r.reward_id}) as redemptions,
             (select count(*)::int from postings p where p.type = 'redemption' and p.member_id in (select member_id from redemptions where reward_id = ${r.reward_id})) as postings,
             (select count(distinct v.code)::int from vouchers v join redemptions rd on rd.id = v.redemption_id where rd.reward_id = ${r.reward_id}) as vouchers`);
    expect(counts).toEqual({ redemptions: STOCK, postings: STOCK, vouchers: STOCK });
    expect(new Set(won.map((a) => a.body.vouchers![0]!.code)).size).toBe(STOCK);
    const left = await Promise.all(members.map((m) => balance(m)));
    expect(left.reduce((s, b) => s + b.available, 0)).toBe(MEMBERS * (ATTEMPTS / MEMBERS) * 100 - STOCK * 100);
  });

  it("a member funded for exactly 3 units and 200 concurrent redemptions: exactly 3, the rest insufficient_points, balance 0", async () => {
    const r = await reward({ kind: "item", points: 700 }); // unlimited stock, no per-member limit
    const m = await member(3 * 700);
    const results = await pool(Array.from({ length: 200 }, () => () => redeem(m, r.reward_id)), IN_FLIGHT);
    expect(results.filter((a) => a.status === 201).length, tally(results)).toBe(3);
    expect(results.filter((a) => a.status !== 201).every((a) => a.status === 422 && a.body.code === "insufficient_points"), tally(results)).toBe(true);
    expect(await balance(m)).toEqual({ available: 0, pending: 0, held: 0 });
    const postings = await one<{ n: number }>(sql`select count(*)::int as n from postings where member_id = ${m} and type = 'redemption'`);
    expect(postings.n).toBe(3);
    expect(await stock(r.reward_id)).toBeNull();
  });

  it("a per-member limit of 3 and 100 concurrent redemptions by one member: exactly 3, the rest redemption_limit_reached", async () => {
    const r = await reward({ points: 10, per_member_limit: 3, stock: 50 });
    const m = await member(100 * 10);
    const results = await pool(Array.from({ length: 100 }, () => () => redeem(m, r.reward_id)), IN_FLIGHT);
    expect(results.filter((a) => a.status === 201).length, tally(results)).toBe(3);
    expect(results.filter((a) => a.status !== 201).every((a) => a.status === 422 && a.body.code === "redemption_limit_reached"), tally(results)).toBe(true);
    expect(await stock(r.reward_id)).toBe(47);
    expect((await balance(m)).available).toBe(1_000 - 30);
  });

  it("20 concurrent retries of one redemption with one Idempotency-Key: one effect, one answer", async () => {
    const r = await reward({ points: 100, stock: 10 });
    const m = await member(1_000);
    const body = { member: m, reward_id: r.reward_id, quantity: 2, reference: "retried" };
    const results = await Promise.all(Array.from({ length: 20 }, () => maker.request<Redemption>("POST", "/v1/redemptions", body, { idempotencyKey: "one-redemption" })));
    expect(results.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect(results.filter((a) => !a.replayed)).toHaveLength(1);
    for (const a of results) expect(a.body).toEqual(results[0]!.body);
    expect(await stock(r.reward_id)).toBe(8);
    expect((await balance(m)).available).toBe(800);
    const made = await one<{ n: number }>(sql`select count(*)::int as n from redemptions where member_id = ${m}`);
    expect(made.n).toBe(1);
  });

  it("cancel racing the use of its voucher, 30 times: exactly one wins each time, and the loser gets its own refusal", async () => {
    const START = 1_000;
    const r = await reward({ points: 250, stock: START });
    const winners: string[] = [];
    for (let round = 0; round < 30; round++) {
      const m = await member(250);
      const made = await redeem(m, r.reward_id);
      expect(made.status).toBe(201);
      const code = made.body.vouchers![0]!.code;
      const id = made.body.redemption_id!;
      // Alternate who is sent first, so neither order is favoured by the test itself.
      const [c, u] = round % 2 === 0 ? await Promise.all([cancel(id), use(code)]) : await Promise.all([use(code), cancel(id)]).then(([x, y]) => [y, x] as const);
      const label = `round ${round}: cancel ${show(c)}, use ${show(u)}`;
      expect([c.status, u.status].filter((s) => s === 200).length, label).toBe(1);
      const view = await maker.call<Redemption>("GET", `/v1/redemptions/${id}`);
      const fulfilments = await one<{ n: number }>(sql`select count(*)::int as n from reward_fulfilments where redemption_id = ${id}`);
      if (c.status === 200) {
        winners.push("cancel");
        expect([u.status, u.body.code], label).toEqual([422, "voucher_not_usable"]);
        expect([view.status, view.vouchers!.map((v) => v.status)], label).toEqual(["cancelled", ["cancelled"]]);
        expect((await balance(m)).available, label).toBe(250);
        expect(fulfilments.n, label).toBe(0);
      } else {
        winners.push("use");
        expect([c.status, c.body.code], label).toEqual([422, "redemption_not_cancellable"]);
        expect([view.status, view.vouchers!.map((v) => v.status)], label).toEqual(["issued", ["used"]]);
        expect((await balance(m)).available, label).toBe(0);
        expect(fulfilments.n, label).toBe(1);
      }
    }
    // Stock is back for every cancelled redemption, and only for those.
    expect(await stock(r.reward_id)).toBe(START - winners.filter((w) => w === "use").length);
    // Not an assertion on timing: both orders are legitimate, and each must hold on its own.
    console.log(`cancel/use race winners over 30 rounds: cancel ×${winners.filter((w) => w === "cancel").length}, use ×${winners.filter((w) => w === "use").length}`);
  });

  it("one voucher used 50 times at once: exactly one use, one fulfilment, and the redemption can no longer be cancelled", async () => {
    const r = await reward({ points: 100, stock: 10, face_value: { amount_minor: 500, currency: "EUR" } });
    const m = await member(200);
    const made = await redeem(m, r.reward_id, { quantity: 2 });
    expect(made.status).toBe(201);
    const [first, second] = made.body.vouchers!.map((v) => v.code);
    // Spelled as people type it, half of the time: the same voucher either way.
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => use(i % 2 ? first!.toLowerCase().replace(/-/g, "") : first!)));
    expect(results.filter((a) => a.status === 200).length, tally(results)).toBe(1);
    expect(results.filter((a) => a.status !== 200).every((a) => a.status === 422 && a.body.code === "voucher_not_usable"), tally(results)).toBe(true);
    const fulfilments = await rows<{ voucher_code: string; units: number }>(sql`select voucher_code, units from reward_fulfilments where redemption_id = ${made.body.redemption_id!}`);
    expect(fulfilments).toEqual([{ voucher_code: first, units: 1 }]);
    const view = await maker.call<Redemption>("GET", `/v1/redemptions/${made.body.redemption_id}`);
    expect(Object.fromEntries(view.vouchers!.map((v) => [v.code, v.status]))).toEqual({ [first!]: "used", [second!]: "issued" });
    const late = await cancel(made.body.redemption_id!);
    expect([late.status, late.body.code]).toEqual([422, "redemption_not_cancellable"]);
    expect((await use(second!)).status).toBe(200);
  });

  it("one redemption cancelled 20 times at once: one refund, stock restored once", async () => {
    const r = await reward({ points: 100, stock: 10 });
    const m = await member(300);
    const made = await redeem(m, r.reward_id, { quantity: 3 });
    expect(await stock(r.reward_id)).toBe(7);
    const results = await Promise.all(Array.from({ length: 20 }, () => cancel(made.body.redemption_id!)));
    expect(results.filter((a) => a.status === 200).length, tally(results)).toBe(1);
    expect(results.filter((a) => a.status !== 200).every((a) => a.status === 422 && a.body.code === "redemption_not_cancellable"), tally(results)).toBe(true);
    const refunds = await one<{ n: number }>(sql`select count(*)::int as n from postings where member_id = ${m} and type = 'redemption_refund'`);
    expect(refunds.n).toBe(1);
    expect((await balance(m)).available).toBe(300);
    expect(await stock(r.reward_id)).toBe(10);
  });

  it("cancel, fulfil and reject of one item racing, 20 times: exactly one wins, and points and stock follow the winner", async () => {
    const START = 100;
    const r = await reward({ kind: "item", points: 40, stock: START });
    const tallyWins = new Map<string, number>();
    let kept = 0;
    for (let round = 0; round < 20; round++) {
      const m = await member(80);
      const made = await redeem(m, r.reward_id, { quantity: 2 });
      expect(made.status).toBe(201);
      const id = made.body.redemption_id!;
      const racers = [["cancel", () => cancel(id)], ["fulfil", () => fulfil(id)], ["reject", () => reject(id)]] as const;
      const order = [0, 1, 2].map((k) => (k + round) % 3); // rotate who is sent first
      const answers = new Map<string, Answer>();
      await Promise.all(order.map(async (k) => answers.set(racers[k]![0], await racers[k]![1]())));
      const label = `round ${round}: ${[...answers].map(([k, a]) => `${k} ${show(a)}`).join(", ")}`;
      const won = [...answers].filter(([, a]) => a.status === 200).map(([k]) => k);
      expect(won.length, label).toBe(1);
      for (const [k, a] of answers) if (k !== won[0]) expect([a.status, a.body.code], label).toEqual([422, "redemption_not_cancellable"]);
      tallyWins.set(won[0]!, (tallyWins.get(won[0]!) ?? 0) + 1);
      const view = await maker.call<Redemption>("GET", `/v1/redemptions/${id}`);
      const expected = { cancel: "cancelled", fulfil: "fulfilled", reject: "rejected" }[won[0] as "cancel" | "fulfil" | "reject"];
      expect(view.status, label).toBe(expected);
      expect((await balance(m)).available, label).toBe(won[0] === "fulfil" ? 0 : 80);
      const facts = await one<{ refunds: number; fulfilments: number }>(sql`
        select (select count(*)::int from postings where member_id = ${m} and type = 'redemption_refund') as refunds,
               (select count(*)::int from reward_fulfilments where redemption_id = ${id}) as fulfilments`);
      expect(facts, label).toEqual(won[0] === "fulfil" ? { refunds: 0, fulfilments: 1 } : { refunds: 1, fulfilments: 0 });
      if (won[0] === "fulfil") kept += 2;
    }
    expect(await stock(r.reward_id)).toBe(START - kept);
    console.log(`cancel/fulfil/reject race winners over 20 rounds: ${[...tallyWins].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
  });

  it("a storm of redemptions, cancels and voucher uses on one scarce reward: no deadlock, no 5xx, stock conserved", async () => {
    const STOCK = 30;
    const COST = 50;
    const r = await reward({ points: COST, stock: STOCK });
    const members = await pool(Array.from({ length: 20 }, () => () => member(7 * COST)), 8); // more than its share of attempts: only stock refuses
    // Ten redemptions made beforehand, to be cancelled and used during the storm.
    const before = await Promise.all(members.slice(0, 10).map((m) => redeem(m, r.reward_id)));
    expect(before.every((a) => a.status === 201)).toBe(true);
    const tasks: { kind: string; run: () => Promise<Answer> }[] = [];
    for (let i = 0; i < 120; i++) tasks.push({ kind: "redeem", run: () => redeem(members[i % members.length]!, r.reward_id) });
    for (const [i, b] of before.entries()) {
      tasks.push({ kind: "cancel", run: () => cancel(b.body.redemption_id!) });
      if (i % 2 === 0) tasks.push({ kind: "use", run: () => use(b.body.vouchers![0]!.code) });
    }
    // A seeded shuffle: cancels and uses land among the redemptions, the same way every run.
    let seed = 7;
    for (let i = tasks.length - 1; i > 0; i--) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = seed % (i + 1);
      [tasks[i], tasks[j]] = [tasks[j]!, tasks[i]!];
    }
    const results = await pool(tasks.map((t) => t.run), IN_FLIGHT);
    const byKind = (kind: string) => results.filter((_, i) => tasks[i]!.kind === kind);
    const all = tally(results);
    expect(results.every((a) => a.status < 500), all).toBe(true);
    const allowed: Record<string, string[]> = {
      redeem: ["201", "422 reward_unavailable"],
      cancel: ["200", "422 redemption_not_cancellable"],
      use: ["200", "422 voucher_not_usable"],
    };
    for (const kind of Object.keys(allowed)) {
      const got = byKind(kind).map(show);
      expect(got.every((g) => allowed[kind]!.includes(g)), `${kind}: ${tally(byKind(kind))}`).toBe(true);
    }
    // Conservation: the stock left is what no live redemption holds.
    const live = await one<{ units: number }>(sql`select coalesce(sum(quantity), 0)::int as units from redemptions where reward_id = ${r.reward_id} and status not in ('cancelled', 'rejected')`);
    expect((await stock(r.reward_id))! + live.units, all).toBe(STOCK);
    const cancelled = byKind("cancel").filter((a) => a.status === 200).length;
    const redeemed = byKind("redeem").filter((a) => a.status === 201).length;
    expect(live.units, all).toBe(10 + redeemed - cancelled);
    // Each member's points: funding, less its live redemptions.
    const spent = await rows<{ member_id: string; points: number }>(sql`
      select member_id, coalesce(sum(points) filter (where status not in ('cancelled', 'rejected')), 0)::int as points
        from redemptions where reward_id = ${r.reward_id} group by member_id`);
    const spentBy = new Map(spent.map((s) => [s.member_id, s.points]));
    for (const m of members) expect((await balance(m)).available).toBe(7 * COST - (spentBy.get(m) ?? 0));
  });
});
