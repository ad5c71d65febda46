/**
 * Referrals through the API: one stable code per member, enrolment with a code, bonuses to both
 * members on the referred member's first earn (posted; a pending one when it is released), once,
 * within the referrer's yearly cap, operator-funded. Every scenario ends with every ledger
 * invariant checked.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { runScheduledJobs } from "../../src/jobs/index.js";
import { clientAtClock, createHarness, draftCurrentMonth, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let hotel: TestPartner; // where referrers are members
let shop: TestPartner; // where friends enrol and earn
let stranger: TestPartner;
let n = 0;

beforeAll(async () => {
  h = await createHarness({ REFERRAL_BONUS_POINTS: "250", REFERRAL_MAX_PER_YEAR: "2" });
  hotel = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  shop = await h.partner({ category: "retail", earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  stranger = await h.partner();
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

interface Member {
  member_id: string;
  referred_by: string | null;
  balance: { available: number; pending: number };
}
interface Txn {
  type: string;
  partner_id: string | null;
  points: number;
  reference: string | null;
}
const rows = async <T>(q: ReturnType<typeof sql>) => ((await h.db.handle.db.execute(q)) as unknown as { rows: T[] }).rows;
const enrol = (p: TestPartner, body: Record<string, unknown> = {}) =>
  p.client.request<Member & { code?: string }>("POST", "/v1/members", { external_ref: `r-${++n}`, ...body });
const codeOf = async (p: TestPartner, member: string) => (await p.client.call<{ code: string }>("GET", `/v1/members/${member}/referral-code`)).code;
const earn = (p: TestPartner, member: string, euros: number, extra: Record<string, unknown> = {}) =>
  p.client.call("POST", "/v1/earn", { member, amount_minor: euros * 100, currency: "EUR", reference: `e-${++n}`, ...extra });
const balanceOf = async (p: TestPartner, member: string) => (await p.client.call<Member>("GET", `/v1/members/${member}`)).balance;
const bonuses = async (member: string) => rows<{ points: string; partner_id: string | null }>(sql`select points::text, partner_id from postings where member_id = ${member} and type = 'referral_bonus'`);

describe("referrals", () => {
  it("one stable code per member; a friend enrolled with it and its first earn pay both members once, operator-funded", async () => {
    const referrer = (await enrol(hotel)).body.member_id;
    const code = await codeOf(hotel, referrer);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(await codeOf(hotel, referrer)).toBe(code);

    const friend = await enrol(shop, { referral_code: code.toLowerCase() });
    expect(friend.status).toBe(201);
    expect(friend.body.referred_by).toBe(referrer);
    expect((await shop.client.call<Member>("GET", `/v1/members/${friend.body.member_id}`)).referred_by).toBe(referrer);
    expect(await bonuses(friend.body.member_id)).toEqual([]); // nothing before the first earn

    await earn(shop, friend.body.member_id, 40);
    expect((await balanceOf(shop, friend.body.member_id)).available).toBe(40 + 250);
    expect((await balanceOf(hotel, referrer)).available).toBe(250);
    await earn(shop, friend.body.member_id, 10); // a second earn pays nothing more
    expect((await balanceOf(shop, friend.body.member_id)).available).toBe(50 + 250);
    expect((await balanceOf(hotel, referrer)).available).toBe(250);

    // No partner posted the bonuses; each brand sees its own member's, and nothing names the other member.
    const seen = await hotel.client.call<{ data: Txn[] }>("GET", `/v1/transactions?member=${referrer}`);
    expect(seen.data).toEqual([expect.objectContaining({ type: "referral_bonus", partner_id: null, points: 250, reference: "referral:referrer" })]);
    expect(JSON.stringify(seen.data)).not.toContain(friend.body.member_id);
    const friendSeen = await shop.client.call<{ data: Txn[] }>("GET", `/v1/transactions?member=${friend.body.member_id}`);
    expect(friendSeen.data.map((t) => t.type).sort()).toEqual(["earn", "earn", "referral_bonus"]);
    expect((await stranger.client.call<{ data: Txn[] }>("GET", "/v1/transactions")).data).toEqual([]);

    // The brand that enrolled the friend is told; the bonus account is the operator's.
    const events = await rows<{ partner_id: string; data: Record<string, unknown> }>(sql`select partner_id, data from events where type = 'referral.completed'`);
    expect(events).toEqual([{ partner_id: shop.id, data: expect.objectContaining({ member_id: friend.body.member_id, referred_by: referrer, bonus_points: 250 }) }]);
    const [account] = await rows<{ total: string }>(sql`select sum(amount)::text as total from entries where account = 'operator:referrals'`);
    expect(account!.total).toBe("-500");
  });

  it("an unknown code is refused and writes nothing; a code never applies to a member the call does not create", async () => {
    const referrer = (await enrol(hotel)).body.member_id;
    const code = await codeOf(hotel, referrer);
    const before = await h.rowCounts();
    const bad = await enrol(shop, { referral_code: "ZZZZ-ZZZZ" });
    expect([bad.status, bad.body.code]).toEqual([422, "referral_code_invalid"]);
    const after = await h.rowCounts();
    for (const t of ["members", "member_links", "postings", "events"] as const) expect(after[t]).toBe(before[t]);

    const plain = await enrol(shop);
    const again = await shop.client.request<Member>("POST", "/v1/members", { external_ref: `r-${n}`, referral_code: code });
    expect([again.status, again.body.member_id, again.body.referred_by]).toEqual([200, plain.body.member_id, null]);
    const tooLong = await enrol(shop, { referral_code: "x".repeat(33) });
    expect([tooLong.status, tooLong.body.code]).toEqual([422, "validation_failed"]);
    // A stranger cannot read another brand's member's code.
    const peek = await stranger.client.request<{ code: string }>("GET", `/v1/members/${referrer}/referral-code`);
    expect([peek.status, peek.body.code]).toEqual([404, "member_not_found"]);
  });

  it("a pending first earn pays when it is released; an erased referrer's code stops working and its due bonus is forfeited", async () => {
    let clock = Date.now();
    const shopAt = clientAtClock(h, shop, () => clock);
    const referrer = (await enrol(hotel)).body.member_id;
    const friend = (await enrol(shop, { referral_code: await codeOf(hotel, referrer) })).body.member_id;
    await shopAt.call("POST", "/v1/earn", { member: friend, amount_minor: 2_000, currency: "EUR", reference: "stay", available_at: new Date(clock + 3_600_000).toISOString() });
    expect(await bonuses(friend)).toEqual([]);
    clock += 2 * 3_600_000;
    await runScheduledJobs({ config: h.config, db: () => h.db.handle.db, now: () => new Date(clock) }, new Date(clock));
    expect((await bonuses(friend)).map((b) => b.points)).toEqual(["250"]);
    expect((await bonuses(referrer)).map((b) => b.points)).toEqual(["250"]);

    // Erasure: the code names no one any more.
    const other = (await enrol(hotel)).body.member_id;
    const otherCode = await codeOf(hotel, other);
    const friend2 = (await enrol(shop, { referral_code: otherCode })).body.member_id;
    await h.staff("admin").call("POST", `/v1/admin/members/${other}/erasure`, {});
    const late = await enrol(shop, { referral_code: otherCode });
    expect([late.status, late.body.code]).toEqual([422, "referral_code_invalid"]);
    await earn(shop, friend2, 5);
    expect((await bonuses(friend2)).map((b) => b.points)).toEqual(["250"]); // the referred member is paid regardless
    expect(await bonuses(other)).toEqual([]);
    const [r] = await rows<{ referrer_outcome: string }>(sql`select referrer_outcome from referrals where referred_id = ${friend2}`);
    expect(r!.referrer_outcome).toBe("forfeited");
  });

  it("pays a referrer at most REFERRAL_MAX_PER_YEAR bonuses in any 12 months; the referred members are paid regardless", async () => {
    let clock = Date.now();
    const shopAt = clientAtClock(h, shop, () => clock);
    const referrer = (await enrol(hotel)).body.member_id;
    const code = await codeOf(hotel, referrer);
    const friends: string[] = [];
    for (let i = 0; i < 3; i++) friends.push((await enrol(shop, { referral_code: code })).body.member_id);
    for (const f of friends) await shopAt.call("POST", "/v1/earn", { member: f, amount_minor: 1_000, currency: "EUR", reference: `first-${f}` });
    expect((await bonuses(referrer)).length).toBe(2); // the cap is 2
    for (const f of friends) expect((await bonuses(f)).length).toBe(1);
    const outcomes = await rows<{ referrer_outcome: string }>(sql`select referrer_outcome from referrals where referrer_id = ${referrer} order by referrer_decided_at, referred_id`);
    expect(outcomes.map((o) => o.referrer_outcome).sort()).toEqual(["capped", "paid", "paid"]);
    // A year and a day later the window has room again.
    clock += 366 * 86_400_000;
    const later = (await enrol(shop, { referral_code: code })).body.member_id;
    await shopAt.call("POST", "/v1/earn", { member: later, amount_minor: 1_000, currency: "EUR", reference: "first-later" });
    expect((await bonuses(referrer)).length).toBe(3);
  });

  it("referral bonuses appear in no partner's statement amounts", async () => {
    const run = await draftCurrentMonth<{ partner_id: string; earned_points: number; operator_funded_points: number; issuance_amount: string }>(h);
    const shopStatement = run.statements.find((s) => s.partner_id === shop.id)!;
    // Only the shop's own earns this month (40 + 10 + 20 released + 5 + 3 × 10 = 105 points; the
    // earn a year later is in another period), at 0.01 each: one cent a point, no bonus point anywhere.
    const pts = 105;
    expect(shopStatement.earned_points).toBe(pts);
    expect(shopStatement.issuance_amount).toBe(`${Math.floor(pts / 100)}.${String(pts % 100).padStart(2, "0")}`);
    expect(run.statements.every((s) => s.operator_funded_points === 0)).toBe(true);
  });
});
