/**
 * The members' economy's SQL functions, called directly (no HTTP), each test inside a
 * transaction that is rolled back: ledger_transfer (lineage kept, one use per code, the daily
 * limit), the referral functions (bonuses once, the referrer's cap, a due bonus paid with the
 * referrer's next settle), ledger_activity (caps, the shared issuance checks), and the helpers
 * ledger_new_id, ledger_utc_day_start and ledger_credit. On PGlite or Postgres, whichever the run has.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { Executor } from "../../src/db/database.js";
import { ledgerContext } from "../../src/ledger/post.js";
import { hashReceiveCode } from "../../src/members/economy.js";
import { inRolledBackTransaction as rolledBack } from "../support/sql.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    activity_rules: [{ activity: "review", points: 30, per_member_daily: 1, per_member_total: 2 }],
    limits: { member_daily_points: 1_000 },
  });
});
afterAll(() => h.close());

/** Runs `body` in a transaction of the test database and rolls it back. */
const inRolledBackTransaction = (body: (tx: Executor) => Promise<void>) => rolledBack(h.db.handle.db, body);

const DAY = 86_400_000;
const T0 = Date.parse("2026-03-10T12:00:00Z");
const rows = async <T>(tx: Executor, q: ReturnType<typeof sql>) => ((await tx.execute(q)) as unknown as { rows: T[] }).rows;
const ctxAt = (at: number, extra: Record<string, unknown> = {}) => ({ ...ledgerContext(h.config, new Date(at), "EUR"), ...extra });

/** A ledger function as `ledger_call` calls it. */
async function fn<T = Record<string, unknown>>(tx: Executor, name: string, args: Record<string, unknown>, ctx: Record<string, unknown>): Promise<T> {
  return (await rows<{ r: T }>(tx, sql`select ${sql.identifier(name)}(${JSON.stringify({ ...args, partner_id: p.id })}::jsonb, ${JSON.stringify(ctx)}::jsonb) as r`))[0]!.r;
}
/** The domain code of a refusal, from inside a savepoint so the test's transaction goes on. */
async function refused(tx: Executor, name: string, args: Record<string, unknown>, ctx: Record<string, unknown>): Promise<string> {
  try {
    await (tx as unknown as { transaction: (f: (sp: Executor) => Promise<unknown>) => Promise<unknown> }).transaction((sp) => fn(sp, name, args, ctx));
  } catch (err) {
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) if ((e as { code?: string }).code === "CLR01") return (e as { message: string }).message;
    throw err;
  }
  throw new Error(`${name} was not refused`);
}
const member = async (ref: string) => (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: ref })).member_id;
const earn = (tx: Executor, m: string, points: number, at: number, extra: Record<string, unknown> = {}) =>
  fn<{ transaction: { transaction_id: string } }>(tx, "ledger_earn", { member: m, amount_minor: points * 100, currency: "EUR", reference: `e${points}`, ...extra }, ctxAt(at));
const available = async (tx: Executor, m: string) => Number((await rows<{ a: string }>(tx, sql`select available::text as a from members where id = ${m}`))[0]!.a);

async function receiveCode(tx: Executor, recipient: string, code: string, at: number) {
  await tx.execute(sql`insert into receive_codes (code_hash, member_id, expires_at, created_at)
                       values (${await hashReceiveCode(code)}, ${recipient}, ${new Date(at + 15 * 60_000).toISOString()}::timestamptz, ${new Date(at).toISOString()}::timestamptz)`);
  return hashReceiveCode(code);
}
const transferCtx = (at: number, n: number) =>
  ctxAt(at, { transfer_id: `trf_${String(n).padStart(26, "0")}`, transfer_in_id: `txn_${String(n).padStart(26, "9")}`, transfer_daily_points: 1_000 });

describe("the members' economy's SQL functions", () => {
  it("ledger_new_id mints time-ordered, prefixed ids of the API's shape; ledger_utc_day_start is the UTC midnight", async () => {
    const [r] = await rows<{ a: string; b: string; c: string; day: string }>(
      h.db.handle.db,
      sql`select ledger_new_id('txn', '2026-03-10T12:00:00Z') as a, ledger_new_id('txn', '2026-03-10T12:00:00.001Z') as b,
                 ledger_new_id('txn', '2026-03-10T12:00:00Z') as c, ledger_ts(ledger_utc_day_start('2026-03-10T23:59:59+05:00')) as day`,
    );
    expect(r!.a).toMatch(/^txn_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(r!.a < r!.b).toBe(true); // a millisecond later sorts later
    expect(r!.a.slice(0, 14)).toBe(r!.c.slice(0, 14)); // same instant, same time part…
    expect(r!.a).not.toBe(r!.c); // …and different random bits
    expect(r!.day).toBe("2026-03-10T00:00:00.000Z");
  });

  it("ledger_transfer moves points with their lineage, once per code, within the sender's daily limit", async () => {
    const from = await member("sql-tr-from");
    const to = await member("sql-tr-to");
    await inRolledBackTransaction(async (tx) => {
      const a = await earn(tx, from, 300, T0);
      const b = await earn(tx, from, 700, T0 + DAY);
      const codeHash = await receiveCode(tx, to, "AAAA-BBBB-CCCC", T0 + 2 * DAY);
      const sent = await fn<{ transfer_id: string; balance: { available: number } }>(tx, "ledger_transfer", { member: from, code_hash: codeHash, points: 500, reference: "gift" }, transferCtx(T0 + 2 * DAY, 1));
      expect(sent).toMatchObject({ transfer_id: `trf_${"0".repeat(25)}1`, balance: { available: 500 } });
      // The recipient's lots: one per sender lot taken, oldest first, with that lot's origin, issuer and expiry.
      const lots = await rows<{ id: string; origin_id: string; partner_id: string; points: number; expires_at: string }>(
        tx,
        sql`select l.id, l.origin_id, l.partner_id, l.points::int, ledger_ts(l.expires_at) as expires_at from lots l where member_id = ${to} order by l.id`,
      );
      const origin = await rows<{ id: string; expires_at: string }>(tx, sql`select id, ledger_ts(expires_at) as expires_at from lots where member_id = ${from} order by expires_at`);
      const inId = String(transferCtx(0, 1).transfer_in_id);
      expect(lots).toEqual([
        { id: `${inId}.1`, origin_id: a.transaction.transaction_id, partner_id: p.id, points: 300, expires_at: origin[0]!.expires_at },
        { id: `${inId}.2`, origin_id: b.transaction.transaction_id, partner_id: p.id, points: 200, expires_at: origin[1]!.expires_at },
      ]);
      expect(await available(tx, to)).toBe(500);
      // The code is spent; and the sender's own code, or an unknown one, never works.
      expect(await refused(tx, "ledger_transfer", { member: from, code_hash: codeHash, points: 1, reference: "again" }, transferCtx(T0 + 2 * DAY, 2))).toBe("receive_code_invalid");
      const own = await receiveCode(tx, from, "DDDD-EEEE-FFFF", T0 + 2 * DAY);
      expect(await refused(tx, "ledger_transfer", { member: from, code_hash: own, points: 1, reference: "own" }, transferCtx(T0 + 2 * DAY, 3))).toBe("receive_code_invalid");
      // 500 sent today of 1,000: 501 more is over; the next UTC day starts afresh.
      const next = await receiveCode(tx, to, "GGGG-HHHH-JJJJ", T0 + 2 * DAY);
      expect(await refused(tx, "ledger_transfer", { member: from, code_hash: next, points: 501, reference: "over" }, transferCtx(T0 + 2 * DAY, 4))).toBe("transfer_limit_reached");
      const expired = await refused(tx, "ledger_transfer", { member: from, code_hash: next, points: 100, reference: "late" }, transferCtx(T0 + 3 * DAY, 5));
      expect(expired).toBe("receive_code_invalid"); // its 15 minutes are over
      const fresh = await receiveCode(tx, to, "KKKK-MMMM-NNNN", T0 + 3 * DAY);
      await fn(tx, "ledger_transfer", { member: from, code_hash: fresh, points: 500, reference: "next day" }, transferCtx(T0 + 3 * DAY, 6));
      expect(await available(tx, from)).toBe(0);
      // The transfer account nets to zero.
      const [net] = await rows<{ n: string }>(tx, sql`select sum(amount)::text as n from entries where account = 'operator:transfers'`);
      expect(net!.n).toBe("0");
    });
  });

  it("ledger_referral_qualify pays both bonuses once on the first earn, the bonus lot expiring with it and spent after it", async () => {
    const referrer = await member("sql-ref-referrer");
    const friend = await member("sql-ref-friend");
    await inRolledBackTransaction(async (tx) => {
      await tx.execute(sql`insert into referrals (referred_id, referrer_id, partner_id, bonus_points, referrer_cap, created_at)
                           values (${friend}, ${referrer}, ${p.id}, 250, 1, ${new Date(T0).toISOString()}::timestamptz)`);
      // A pending earn does not qualify; its release does.
      const pending = await earn(tx, friend, 100, T0, { available_at: new Date(T0 + DAY).toISOString() });
      expect(await available(tx, referrer)).toBe(0);
      await tx.execute(sql`select ledger_settle_member(${friend}, ${new Date(T0 + 2 * DAY).toISOString()}::timestamptz, 'txn_sqlrel')`);
      expect(await available(tx, friend)).toBe(350);
      expect(await available(tx, referrer)).toBe(250);
      const lots = await rows<{ id: string; origin_id: string; partner_id: string | null; expires_at: string }>(
        tx,
        sql`select id, origin_id, partner_id, ledger_ts(expires_at) as expires_at from lots where member_id = ${friend} order by expires_at, id`,
      );
      expect(lots.map((l) => l.partner_id)).toEqual([p.id, null]); // the bonus lot sorts after the purchase's
      expect(lots[0]!.id).toBe(pending.transaction.transaction_id);
      expect(lots[1]!.expires_at).toBe(lots[0]!.expires_at);
      // A second earn pays nothing more.
      await earn(tx, friend, 50, T0 + 3 * DAY);
      expect(await available(tx, friend)).toBe(400);
      const [r] = await rows<{ referrer_outcome: string; qualifying_posting_id: string }>(tx, sql`select referrer_outcome, qualifying_posting_id from referrals where referred_id = ${friend}`);
      expect(r).toEqual({ referrer_outcome: "paid", qualifying_posting_id: pending.transaction.transaction_id });
    });
  });

  it("ledger_referrer_pay caps the referrer in any 12 months; ledger_referrer_pay_due pays a due bonus at the referrer's next settle", async () => {
    const referrer = await member("sql-cap-referrer");
    const friends = [await member("sql-cap-1"), await member("sql-cap-2"), await member("sql-cap-3")];
    await inRolledBackTransaction(async (tx) => {
      for (const f of friends)
        await tx.execute(sql`insert into referrals (referred_id, referrer_id, partner_id, bonus_points, referrer_cap, created_at)
                             values (${f}, ${referrer}, ${p.id}, 100, 1, ${new Date(T0).toISOString()}::timestamptz)`);
      await earn(tx, friends[0]!, 10, T0);
      await earn(tx, friends[1]!, 10, T0 + DAY); // the cap is 1 a year: capped
      expect(await available(tx, referrer)).toBe(100);
      // As if the referrer had been busy: the third referral qualifies but stays due…
      await tx.execute(sql`update referrals set qualified_at = ${new Date(T0 + 400 * DAY).toISOString()}::timestamptz, bonus_expires_at = ${new Date(T0 + 900 * DAY).toISOString()}::timestamptz
                           where referred_id = ${friends[2]!}`);
      expect(await available(tx, referrer)).toBe(100);
      // …until the referrer's next settle, over a year after its last bonus: paid.
      await tx.execute(sql`select ledger_settle_member(${referrer}, ${new Date(T0 + 401 * DAY).toISOString()}::timestamptz, 'txn_sqldue')`);
      expect(await available(tx, referrer)).toBe(200);
      const outcomes = await rows<{ referrer_outcome: string }>(tx, sql`select referrer_outcome from referrals where referrer_id = ${referrer} order by referrer_decided_at`);
      expect(outcomes.map((o) => o.referrer_outcome)).toEqual(["paid", "capped", "paid"]);
    });
  });

  it("ledger_activity pays the rule's points within its caps, and counts against the partner's issuance limits with earns", async () => {
    const m = await member("sql-act");
    await inRolledBackTransaction(async (tx) => {
      const review = { member: m, activity: "review" };
      const first = await fn<{ transaction: { type: string; points: number } }>(tx, "ledger_activity", { ...review, reference: "r1" }, ctxAt(T0));
      expect(first.transaction).toMatchObject({ type: "activity", points: 30 });
      expect(await refused(tx, "ledger_activity", { ...review, reference: "r2" }, ctxAt(T0 + 1_000))).toBe("activity_limit_reached"); // one a day
      await fn(tx, "ledger_activity", { ...review, reference: "r3" }, ctxAt(T0 + DAY));
      expect(await refused(tx, "ledger_activity", { ...review, reference: "r4" }, ctxAt(T0 + 5 * DAY))).toBe("activity_limit_reached"); // two in all
      expect(await refused(tx, "ledger_activity", { member: m, activity: "tweet", reference: "t" }, ctxAt(T0 + 5 * DAY))).toBe("validation_failed");
      const [rec] = await rows<{ n: number }>(tx, sql`select count(*)::int as n from activity_postings where member_id = ${m}`);
      expect(rec!.n).toBe(2);
      // The member's daily cap of 1,000 counts both: 30 from the review on day 2 leaves 970 for earns.
      expect(await refused(tx, "ledger_earn", { member: m, amount_minor: 97_100, currency: "EUR", reference: "big" }, ctxAt(T0 + DAY + 1_000))).toBe("issuance_limit_reached");
      await earn(tx, m, 970, T0 + DAY + 2_000);
      expect(await available(tx, m)).toBe(30 + 30 + 970);
    });
  });

  it("ledger_credit makes a lot of its own (origin: itself) and repays a debt from available points first", async () => {
    const m = await member("sql-credit");
    await inRolledBackTransaction(async (tx) => {
      await tx.execute(sql`update members set available = -25 where id = ${m}`);
      const at = new Date(T0).toISOString();
      await tx.execute(sql`select ledger_credit('txn_sqlcredit', ${m}, null, 100, ${at}::timestamptz, ${at}::timestamptz, ${new Date(T0 + 700 * DAY).toISOString()}::timestamptz, false)`);
      const [lot] = await rows<{ origin_id: string; partner_id: string | null; points: number; remaining: number; released: boolean }>(
        tx,
        sql`select origin_id, partner_id, points::int, remaining::int, released from lots where id = 'txn_sqlcredit'`,
      );
      expect(lot).toEqual({ origin_id: "txn_sqlcredit", partner_id: null, points: 100, remaining: 75, released: true });
      expect(await available(tx, m)).toBe(75);
    });
  });
});
