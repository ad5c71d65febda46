/**
 * The ledger's SQL functions, called directly (no HTTP), each test inside a transaction that is
 * rolled back: lots spent oldest first, a debt repaid first, tier month sums, holds, reversals and
 * their refusals. On PGlite or Postgres, whichever the run has.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { Executor } from "../../src/db/database.js";
import { ledgerContext } from "../../src/ledger/post.js";
import { inRolledBackTransaction as rolledBack } from "../support/sql.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
let other: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  other = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
});
afterAll(() => h.close());

/** Runs `body` in a transaction of the test database and rolls it back. */
const inRolledBackTransaction = (body: (tx: Executor) => Promise<void>) => rolledBack(h.db.handle.db, body);

const DAY = 86_400_000;
const T0 = Date.parse("2026-03-10T12:00:00Z");

/** A posting function's result: the API object, no HTTP status (that is the HTTP layer's). */
type Answer = { body: { transaction?: { transaction_id: string; points: number }; balance?: Record<string, number>; hold_id?: string } };

/** One ledger function call, as `ledger_call` makes it, at time `at`. */
async function call(tx: Executor, fn: string, args: Record<string, unknown>, at: number, partner = p): Promise<Answer> {
  const ctx = ledgerContext(h.config, new Date(at), typeof args.currency === "string" ? args.currency : undefined);
  const r = (await tx.execute(sql`select ${sql.identifier(fn)}(${JSON.stringify({ ...args, partner_id: partner.id })}::jsonb, ${JSON.stringify(ctx)}::jsonb) as r`)) as unknown as {
    rows: { r: Answer["body"] }[];
  };
  return { body: r.rows[0]!.r };
}

/** The SQLSTATE and message of a refusal raised by a ledger function. */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (err) {
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
      const { code, message } = e as { code?: string; message?: string };
      if (code === "CLR01") return { code, message: message! };
    }
    throw err;
  }
  throw new Error("expected a refusal");
}

async function newMember(tx: Executor, ref: string): Promise<string> {
  const m = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: ref });
  void tx;
  return m.member_id;
}

const one = async <T>(tx: Executor, q: ReturnType<typeof sql>) => ((await tx.execute(q)) as unknown as { rows: T[] }).rows;
const balance = (tx: Executor, member: string) => one<{ available: string; pending: string; held: string }>(tx, sql`select available::text, pending::text, held::text from members where id = ${member}`).then((r) => r[0]!);

describe("ledger SQL functions", () => {
  it("ledger_burn takes lots oldest first, recording each move", async () => {
    const member = await newMember(h.db.handle.db, "sql-lots");
    await inRolledBackTransaction(async (tx) => {
      const a = await call(tx, "ledger_earn", { member, amount_minor: 30_000, currency: "EUR", reference: "a" }, T0);
      const b = await call(tx, "ledger_earn", { member, amount_minor: 20_000, currency: "EUR", reference: "b" }, T0 + DAY);
      const burn = await call(tx, "ledger_burn", { member, points: 350, reference: "spend" }, T0 + 2 * DAY);
      expect(burn.body.transaction).toMatchObject({ points: 350 });
      const lots = await one<{ id: string; remaining: string }>(tx, sql`select id, remaining::text from lots where member_id = ${member} order by expires_at`);
      expect(lots.map((l) => [l.id, Number(l.remaining)])).toEqual([
        [a.body.transaction!.transaction_id, 0],
        [b.body.transaction!.transaction_id, 150],
      ]);
      const moves = await one<{ lot_id: string; points: string }>(tx, sql`select lot_id, points::text from lot_moves where posting_id = ${burn.body.transaction!.transaction_id} order by points`);
      expect(moves.map((m) => [m.lot_id, Number(m.points)])).toEqual([
        [a.body.transaction!.transaction_id, -300],
        [b.body.transaction!.transaction_id, -50],
      ]);
      expect(await balance(tx, member)).toEqual({ available: "150", pending: "0", held: "0" });
    });
  });

  it("ledger_burn refuses more than is available (insufficient_points) and writes nothing", async () => {
    const member = await newMember(h.db.handle.db, "sql-overspend");
    await inRolledBackTransaction(async (tx) => {
      await call(tx, "ledger_earn", { member, amount_minor: 10_000, currency: "EUR", reference: "a" }, T0);
      const before = await one<{ n: number }>(tx, sql`select count(*)::int as n from postings where member_id = ${member}`);
      await tx.execute(sql`savepoint refused`);
      expect(await refusal(call(tx, "ledger_burn", { member, points: 101, reference: "x" }, T0 + 1))).toMatchObject({ message: "insufficient_points" });
      await tx.execute(sql`rollback to savepoint refused`);
      expect(await one<{ n: number }>(tx, sql`select count(*)::int as n from postings where member_id = ${member}`)).toEqual(before);
    });
  });

  it("ledger_earn repays a debt first: the new lot holds only what is left", async () => {
    const member = await newMember(h.db.handle.db, "sql-debt");
    await inRolledBackTransaction(async (tx) => {
      // A debt as an earn reversal made before reversals were limited to unspent points left it.
      await tx.execute(sql`update members set available = -40 where id = ${member}`);
      const e = await call(tx, "ledger_earn", { member, amount_minor: 10_000, currency: "EUR", reference: "a" }, T0);
      expect(e.body.balance).toMatchObject({ available: 60 });
      const [lot] = await one<{ remaining: string }>(tx, sql`select remaining::text from lots where id = ${e.body.transaction!.transaction_id}`);
      expect(Number(lot!.remaining)).toBe(60);
    });
  });

  it("keeps monthly tier sums: an earn adds to its month, its reversal takes from the earn's month", async () => {
    const member = await newMember(h.db.handle.db, "sql-tiers");
    await inRolledBackTransaction(async (tx) => {
      const e = await call(tx, "ledger_earn", { member, amount_minor: 50_000, currency: "EUR", reference: "march" }, T0);
      await call(tx, "ledger_earn", { member, amount_minor: 20_000, currency: "EUR", reference: "april" }, Date.parse("2026-04-02T00:00:00Z"));
      await call(tx, "ledger_reverse", { transaction_id: e.body.transaction!.transaction_id, points: 100, reference: "r" }, Date.parse("2026-04-03T00:00:00Z"));
      const months = await one<{ month: string; points: string }>(tx, sql`select to_char(month, 'YYYY-MM') as month, points::text from member_earn_months where member_id = ${member} order by month`);
      expect(months.map((m) => [m.month, Number(m.points)])).toEqual([
        ["2026-03", 400],
        ["2026-04", 200],
      ]);
      const [since] = await one<{ n: string }>(tx, sql`select ledger_earned_since(${member}, ${new Date(T0 - DAY).toISOString()}::timestamptz)::text as n`);
      expect(Number(since!.n)).toBe(600);
    });
  });

  it("holds: authorize moves points to held, a partial capture burns part and releases the rest, a void releases all", async () => {
    const member = await newMember(h.db.handle.db, "sql-holds");
    await inRolledBackTransaction(async (tx) => {
      await call(tx, "ledger_earn", { member, amount_minor: 100_000, currency: "EUR", reference: "fund" }, T0);
      const hold = await call(tx, "ledger_hold", { member, points: 300, reference: "h1", ttl_seconds: 900 }, T0 + 1_000);
      expect(hold.body.balance).toEqual({ available: 700, pending: 0, held: 300 });
      const captured = await call(tx, "ledger_capture", { hold_id: hold.body.hold_id, points: 120 }, T0 + 2_000);
      expect(captured.body.balance).toEqual({ available: 880, pending: 0, held: 0 });
      const second = await call(tx, "ledger_hold", { member, points: 80, reference: "h2", ttl_seconds: 900 }, T0 + 3_000);
      const voided = await call(tx, "ledger_void", { hold_id: second.body.hold_id }, T0 + 4_000);
      expect(voided.body.balance).toEqual({ available: 880, pending: 0, held: 0 });
      await tx.execute(sql`savepoint again`);
      expect(await refusal(call(tx, "ledger_void", { hold_id: second.body.hold_id }, T0 + 5_000))).toMatchObject({ message: "hold_not_active" });
      await tx.execute(sql`rollback to savepoint again`);
      const [lot] = await one<{ remaining: string }>(tx, sql`select sum(remaining)::text as remaining from lots where member_id = ${member}`);
      expect(Number(lot!.remaining), "lots hold exactly available + held").toBe(880);
    });
  });

  it("reversals: only unspent points of the earn, never past the original; a refund returns points to the lots the burn spent", async () => {
    const member = await newMember(h.db.handle.db, "sql-reversals");
    const { code } = await p.client.call<{ code: string }>("POST", `/v1/members/${member}/link-codes`, {});
    await other.client.call("POST", "/v1/links", { code, external_ref: "sql-reversals-b" });
    await inRolledBackTransaction(async (tx) => {
      const e = await call(tx, "ledger_earn", { member, amount_minor: 100_000, currency: "EUR", reference: "stay" }, T0);
      const id = e.body.transaction!.transaction_id;
      const burn = await call(tx, "ledger_burn", { member, points: 700, reference: "ride" }, T0 + 1_000, other);
      await tx.execute(sql`savepoint s1`);
      const spent = await refusal(call(tx, "ledger_reverse", { transaction_id: id, reference: "all" }, T0 + 2_000));
      expect(spent.message).toBe("insufficient_points");
      await tx.execute(sql`rollback to savepoint s1`);
      const part = await call(tx, "ledger_reverse", { transaction_id: id, points: 300, reference: "part" }, T0 + 3_000);
      expect(part.body.balance).toEqual({ available: 0, pending: 0, held: 0 });
      await tx.execute(sql`savepoint s2`);
      expect((await refusal(call(tx, "ledger_reverse", { transaction_id: id, points: 701, reference: "over" }, T0 + 4_000))).message).toBe("reversal_exceeds_original");
      await tx.execute(sql`rollback to savepoint s2`);
      await call(tx, "ledger_reverse", { transaction_id: burn.body.transaction!.transaction_id, reference: "refund" }, T0 + 5_000, other);
      const [lot] = await one<{ remaining: string }>(tx, sql`select remaining::text from lots where id = ${id}`);
      expect(Number(lot!.remaining), "the refund went back to the earn's lot").toBe(700);
      const rest = await call(tx, "ledger_reverse", { transaction_id: id, reference: "rest" }, T0 + 6_000);
      expect(rest.body.transaction!.points).toBe(700);
      const entries = await one<{ sum: string }>(tx, sql`select coalesce(sum(amount), 0)::text as sum from entries where account like ${`member:${member}:%`}`);
      expect(Number(entries[0]!.sum)).toBe(0);
    });
  });

  it("rewards: ledger_redeem takes the oldest lots and stock; ledger_redemption_cancel refunds to those lots; ledger_voucher_use once; ledger_expire_vouchers", async () => {
    const member = await newMember(h.db.handle.db, "sql-rewards");
    const reward = await h.staff("admin").call<{ reward_id: string }>("POST", "/v1/admin/rewards", {
      supplier_id: other.id, kind: "voucher", name: "Card", points: 100, supplier_price: "0.5", stock: 3, voucher_valid_days: 1,
    });
    await inRolledBackTransaction(async (tx) => {
      const a = await call(tx, "ledger_earn", { member, amount_minor: 15_000, currency: "EUR", reference: "a" }, T0);
      const b = await call(tx, "ledger_earn", { member, amount_minor: 20_000, currency: "EUR", reference: "b" }, T0 + DAY);
      const ctx = (at: number, codes: string[]) => ({ ...ledgerContext(h.config, new Date(at)), redemption_id: `rdm_${"x".repeat(26)}`, voucher_codes: codes, fulfilment_id: `ful_${"y".repeat(26)}` });
      const on = async (db: Executor, fn: string, args: Record<string, unknown>, c: Record<string, unknown>, partner = p) =>
        ((await db.execute(sql`select ${sql.identifier(fn)}(${JSON.stringify({ ...args, partner_id: partner.id })}::jsonb, ${JSON.stringify(c)}::jsonb) as r`)) as unknown as { rows: { r: Record<string, unknown> }[] }).rows[0]!.r;
      const direct = (fn: string, args: Record<string, unknown>, c: Record<string, unknown>, partner = p) => on(tx, fn, args, c, partner);
      // A refusal inside a savepoint, so the test's transaction goes on (as ledger_call's own block does).
      const refused = (fn: string, args: Record<string, unknown>, c: Record<string, unknown>, partner = p) =>
        refusal((tx as unknown as { transaction: (f: (sp: Executor) => Promise<unknown>) => Promise<unknown> }).transaction((sp) => on(sp, fn, args, c, partner)));
      const redeemed = await direct("ledger_redeem", { member, reward_id: reward.reward_id, quantity: 2, reference: "r" }, ctx(T0 + 2 * DAY, ["AAAA-0000-0000-0001", "AAAA-0000-0000-0002"]));
      const pid = (redeemed.transaction as { transaction_id: string }).transaction_id;
      // 200 points: all 150 of the oldest lot, then 50 of the next.
      const moves = await one<{ lot_id: string; points: number }>(tx, sql`select lot_id, points::int from lot_moves where posting_id = ${pid} order by points`);
      expect(moves).toEqual([{ lot_id: a.body.transaction!.transaction_id, points: -150 }, { lot_id: b.body.transaction!.transaction_id, points: -50 }]);
      expect((await one<{ stock: number }>(tx, sql`select stock from rewards where id = ${reward.reward_id}`))[0]!.stock).toBe(1);
      await call(tx, "ledger_earn", { member, amount_minor: 10_000, currency: "EUR", reference: "c" }, T0 + 2 * DAY);
      expect((await refused("ledger_redeem", { member, reward_id: reward.reward_id, quantity: 2, reference: "r2" }, ctx(T0 + 2 * DAY, ["B", "C"]))).message).toBe("reward_unavailable");
      // A voucher of another supplier is not usable; the supplier's own is, once.
      expect((await refused("ledger_voucher_use", { code: "AAAA-0000-0000-0001", reference: "t" }, ctx(T0 + 2 * DAY, []))).message).toBe("voucher_not_usable");
      const used = await direct("ledger_voucher_use", { code: "AAAA-0000-0000-0001", reference: "t" }, ctx(T0 + 2 * DAY, []), other);
      expect(used).toMatchObject({ status: "used", redemption_id: redeemed.redemption_id });
      expect((await refused("ledger_voucher_use", { code: "AAAA-0000-0000-0001", reference: "t" }, ctx(T0 + 2 * DAY, []), other)).message).toBe("voucher_not_usable");
      expect((await refused("ledger_redemption_cancel", { redemption_id: redeemed.redemption_id }, ctx(T0 + 2 * DAY, []))).message).toBe("redemption_not_cancellable");
      // The other voucher lapses after a day: the job expires it, and nothing is refunded.
      expect(Number((await one<{ n: number }>(tx, sql`select ledger_expire_vouchers(${new Date(T0 + 4 * DAY).toISOString()}::timestamptz, 10) as n`))[0]!.n)).toBe(1);
      expect((await balance(tx, member)).available).toBe("250");
    });
    await inRolledBackTransaction(async (tx) => {
      const a = await call(tx, "ledger_earn", { member, amount_minor: 15_000, currency: "EUR", reference: "a" }, T0);
      const c = { ...ledgerContext(h.config, new Date(T0 + DAY)), redemption_id: `rdm_${"z".repeat(26)}`, voucher_codes: ["CCCC-0000-0000-0001"] };
      const r = ((await tx.execute(sql`select ledger_redeem(${JSON.stringify({ member, reward_id: reward.reward_id, reference: "r", partner_id: p.id })}::jsonb, ${JSON.stringify(c)}::jsonb) as r`)) as unknown as { rows: { r: { redemption_id: string } }[] }).rows[0]!.r;
      const cc = ledgerContext(h.config, new Date(T0 + DAY));
      await tx.execute(sql`select ledger_redemption_cancel(${JSON.stringify({ redemption_id: r.redemption_id, partner_id: p.id })}::jsonb, ${JSON.stringify(cc)}::jsonb)`);
      // The refund went back to the lot the redemption spent.
      const lot = await one<{ remaining: number }>(tx, sql`select remaining::int from lots where id = ${a.body.transaction!.transaction_id}`);
      expect(lot[0]!.remaining).toBe(150);
      const refund = await one<{ points: number; lot_id: string }>(tx, sql`select points::int, lot_id from lot_moves where posting_id = ${cc.posting_id}`);
      expect(refund).toEqual([{ points: 100, lot_id: a.body.transaction!.transaction_id }]);
      expect((await one<{ stock: number }>(tx, sql`select stock from rewards where id = ${reward.reward_id}`))[0]!.stock).toBe(3);
    });
  });
});
