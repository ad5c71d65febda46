import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { PartnerClient } from "../../src/client/index.js";
import { clientAtClock, createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let hotel: TestPartner;
let taxi: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  hotel = await h.partner({
    earn_rules: [
      { currency: "EUR", category: "*", points_per_unit: "10" },
      { currency: "EUR", category: "suite", points_per_unit: "12.5" },
      { currency: "JPY", category: "*", points_per_unit: "0.1" },
    ],
    allow_explicit_points: true,
  });
  taxi = await h.partner({ category: "ride_hailing" });
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

type Balance = { available: number; pending: number; held: number };
type Txn = { transaction_id: string; type: string; points: number; status: string; available_at?: string; original_transaction_id?: string };
const code = (res: { body: unknown }) => (res.body as { code?: string }).code;
let n = 0;

/** A client for `partner` talking to an app whose clock (and the client's) is `offsetMs` ahead. */
function clientAt(partner: TestPartner, offsetMs: number): PartnerClient {
  return clientAtClock(h, partner, () => Date.now() + offsetMs);
}

/** A member enrolled at the hotel and linked at the taxi company. */
async function member(): Promise<{ id: string; hotelRef: string; taxiRef: string }> {
  const hotelRef = `guest-${++n}`;
  const m = await hotel.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: hotelRef });
  const lc = await hotel.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
  const taxiRef = `rider-${n}`;
  await taxi.client.call("POST", "/v1/links", { code: lc.code, external_ref: taxiRef });
  return { id: m.member_id, hotelRef, taxiRef };
}

const earn = (m: { id: string }, amount_minor: number, extra: Record<string, unknown> = {}) =>
  hotel.client.request<{ transaction: Txn; balance: Balance; base_points: number; bonus_points: number }>("POST", "/v1/earn", {
    member: m.id,
    amount_minor,
    currency: "EUR",
    reference: `stay-${++n}`,
    ...extra,
  });

describe("earn", () => {
  it("credits floor(amount × rate) exactly, by category, and quotes the same without writing", async () => {
    const m = await member();
    const quote = await hotel.client.request("POST", "/v1/earn/quote", { member: m.id, amount_minor: 12_345, currency: "EUR", category: "suite", reference: "q" });
    expect(quote.status).toBe(200);
    expect(quote.body).toEqual({ points: 1543, base_points: 1543, bonus_points: 0 }); // 123.45 × 12.5 = 1543.125
    const res = await earn(m, 12_345, { category: "suite" });
    expect(res.status).toBe(201);
    expect(res.body.base_points).toBe(1543);
    expect(res.body.transaction).toMatchObject({ type: "earn", points: 1543, status: "posted", member_id: m.id, partner_id: hotel.id });
    expect(res.body.balance).toEqual({ available: 1543, pending: 0, held: 0 });
    // An unknown category uses the "*" rule; a currency with no decimals is scaled right.
    expect((await earn(m, 999, { category: "spa" })).body.base_points).toBe(99);
    expect((await earn(m, 12_345, { currency: "JPY" })).body.base_points).toBe(1234);
  });

  it("refuses a currency without a rule, zero points, and explicit points where not allowed", async () => {
    const m = await member();
    const usd = await earn(m, 1000, { currency: "USD" });
    expect([usd.status, code(usd)]).toEqual([422, "validation_failed"]);
    expect(code(await earn(m, 5))).toBe("validation_failed"); // 0.05 EUR × 10 = 0 points
    const explicit = await taxi.client.request("POST", "/v1/earn", { member: `ext:${m.taxiRef}`, amount_minor: 100, currency: "EUR", reference: "x", points: 50 });
    expect([explicit.status, code(explicit)]).toEqual([422, "explicit_points_not_allowed"]);
    const allowed = await earn(m, 100, { points: 50 });
    expect(allowed.body.base_points).toBe(50);
  });

  it("keeps points pending until available_at, never early", async () => {
    const m = await member();
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const res = await earn(m, 10_000, { available_at: at });
    expect(res.body.transaction.status).toBe("pending");
    expect(res.body.balance).toEqual({ available: 0, pending: 1000, held: 0 });
    const burn = await hotel.client.request("POST", "/v1/burn", { member: m.id, points: 1, reference: "too-early" });
    expect(code(burn)).toBe("insufficient_points");
    // An hour later (a second app whose clock is ahead), a read shows them released.
    const client = clientAt(hotel, 3_601_000);
    const read = await client.call<{ balance: Balance }>("GET", `/v1/members/${m.id}`);
    expect(read.balance).toEqual({ available: 1000, pending: 0, held: 0 });
    const txn = await client.call<Txn>("GET", `/v1/transactions/${res.body.transaction.transaction_id}`);
    expect(txn.status).toBe("posted");
  });
});

describe("burn, holds and reversals", () => {
  it("burns at another brand, refuses overspending", async () => {
    const m = await member();
    await earn(m, 10_000); // 1000
    const burn = await taxi.client.request<{ transaction: Txn; balance: Balance }>("POST", "/v1/burn", { member: `ext:${m.taxiRef}`, points: 400, reference: "ride-1" });
    expect(burn.status).toBe(201);
    expect(burn.body.balance.available).toBe(600);
    const over = await taxi.client.request("POST", "/v1/burn", { member: m.id, points: 601, reference: "ride-2" });
    expect([over.status, code(over)]).toEqual([422, "insufficient_points"]);
  });

  it("holds, captures part (the rest released), and refuses late or double captures", async () => {
    const m = await member();
    await earn(m, 10_000);
    const hold = await taxi.client.request<{ hold_id: string; status: string; expires_at: string; balance: Balance }>("POST", "/v1/holds", {
      member: m.id,
      points: 300,
      reference: "ride-3",
    });
    expect(hold.status).toBe(201);
    expect(hold.body).toMatchObject({ status: "authorized", points: 300, balance: { available: 700, pending: 0, held: 300 } });
    const capture = await taxi.client.request<{ captured_points: number; balance: Balance; transaction: Txn }>(
      "POST",
      `/v1/holds/${hold.body.hold_id}/capture`,
      { points: 120 },
    );
    expect(capture.status).toBe(200);
    expect(capture.body).toMatchObject({ status: "captured", captured_points: 120, balance: { available: 880, pending: 0, held: 0 } });
    expect(capture.body.transaction).toMatchObject({ type: "burn", points: 120 });
    const again = await taxi.client.request("POST", `/v1/holds/${hold.body.hold_id}/capture`, {});
    expect([again.status, code(again)]).toEqual([422, "hold_not_active"]);
    const notMine = await hotel.client.request("POST", `/v1/holds/${hold.body.hold_id}/void`, {});
    expect([notMine.status, code(notMine)]).toEqual([404, "not_found"]);
  });

  it("voids, refuses capturing more than held, and a hold past its TTL is hold_not_active", async () => {
    const m = await member();
    await earn(m, 10_000);
    const h1 = await taxi.client.call<{ hold_id: string }>("POST", "/v1/holds", { member: m.id, points: 100, reference: "a" });
    expect(code(await taxi.client.request("POST", `/v1/holds/${h1.hold_id}/capture`, { points: 101 }))).toBe("capture_exceeds_hold");
    const voided = await taxi.client.call<{ status: string; balance: Balance }>("POST", `/v1/holds/${h1.hold_id}/void`);
    expect(voided).toMatchObject({ status: "voided", balance: { available: 1000, held: 0 } });

    const h2 = await taxi.client.call<{ hold_id: string }>("POST", "/v1/holds", { member: m.id, points: 100, reference: "b", ttl_seconds: 60 });
    const client = clientAt(taxi, 61_000);
    const late = await client.request("POST", `/v1/holds/${h2.hold_id}/capture`, {});
    expect([late.status, code(late)]).toEqual([422, "hold_not_active"]);
    expect((await client.call<{ balance: Balance }>("GET", `/v1/members/${m.id}`)).balance).toEqual({ available: 1000, pending: 0, held: 0 });
  });

  it("reverses only the points of an earn the member still has: never a debt", async () => {
    const m = await member();
    const e = await earn(m, 10_000); // 1000
    const id = e.body.transaction.transaction_id;
    const spent = await taxi.client.call<{ transaction: Txn }>("POST", "/v1/burn", { member: m.id, points: 900, reference: "spent" });
    const before = await h.rowCounts();
    const refused = await hotel.client.request<{ detail: string }>("POST", `/v1/transactions/${id}/reversals`, { points: 600, reference: "cancelled-stay" });
    expect([refused.status, code(refused)]).toEqual([422, "insufficient_points"]);
    expect(refused.body.detail).toMatch(/Only 100 of this earn's points are still unspent/);
    const after = await h.rowCounts();
    for (const t of ["postings", "entries", "lots", "lot_moves"].filter((t) => t in after)) expect(after[t], t).toBe(before[t]);
    const rev = await hotel.client.request<{ transaction: Txn; balance: Balance }>("POST", `/v1/transactions/${id}/reversals`, { points: 100, reference: "part" });
    expect(rev.status).toBe(201);
    expect(rev.body.transaction).toMatchObject({ type: "earn_reversal", points: 100, original_transaction_id: id });
    expect(rev.body.balance.available).toBe(0);
    const over = await hotel.client.request("POST", `/v1/transactions/${id}/reversals`, { points: 901, reference: "too-much" });
    expect([over.status, code(over)]).toEqual([422, "reversal_exceeds_original"]);
    // The burn is refunded: its points return to the earn's lot, and can then be reversed.
    await taxi.client.call("POST", `/v1/transactions/${spent.transaction.transaction_id}/reversals`, { reference: "refund" });
    const rest = await hotel.client.request<{ balance: Balance; transaction: Txn }>("POST", `/v1/transactions/${id}/reversals`, { reference: "rest" });
    expect(rest.body.transaction.points).toBe(900);
    expect(rest.body.balance).toEqual({ available: 0, pending: 0, held: 0 });
  });

  it("does not reverse points under a hold until the hold ends", async () => {
    const m = await member();
    const e = await earn(m, 10_000); // 1000
    const hold = await taxi.client.call<{ hold_id: string }>("POST", "/v1/holds", { member: m.id, points: 700, reference: "held" });
    const refused = await hotel.client.request("POST", `/v1/transactions/${e.body.transaction.transaction_id}/reversals`, { reference: "all" });
    expect([refused.status, code(refused)]).toEqual([422, "insufficient_points"]);
    await taxi.client.call("POST", `/v1/holds/${hold.hold_id}/void`, {});
    const rev = await hotel.client.request<{ balance: Balance }>("POST", `/v1/transactions/${e.body.transaction.transaction_id}/reversals`, { reference: "all-2" });
    expect([rev.status, rev.body.balance.available]).toEqual([201, 0]);
  });

  it("refunds a burn, never beyond it; another partner cannot touch the transaction", async () => {
    const m = await member();
    await earn(m, 10_000);
    const b = await taxi.client.call<{ transaction: Txn }>("POST", "/v1/burn", { member: m.id, points: 250, reference: "r" });
    expect(code(await hotel.client.request("POST", `/v1/transactions/${b.transaction.transaction_id}/reversals`, { reference: "x" }))).toBe("not_found");
    const refund = await taxi.client.call<{ transaction: Txn; balance: Balance }>("POST", `/v1/transactions/${b.transaction.transaction_id}/reversals`, {
      points: 100,
      reference: "refund",
    });
    expect(refund.transaction.type).toBe("burn_refund");
    expect(refund.balance.available).toBe(850);
    expect(code(await taxi.client.request("POST", `/v1/transactions/${b.transaction.transaction_id}/reversals`, { points: 151, reference: "x" }))).toBe(
      "reversal_exceeds_original",
    );
  });
});

describe("idempotency and transaction reads", () => {
  it("a retried earn has one effect; a different body under the same key is refused", async () => {
    const m = await member();
    const body = { member: m.id, amount_minor: 1000, currency: "EUR", reference: "same" };
    const first = await hotel.client.request("POST", "/v1/earn", body, { idempotencyKey: `earn-${m.id}` });
    const again = await hotel.client.request("POST", "/v1/earn", body, { idempotencyKey: `earn-${m.id}` });
    expect(again.replayed).toBe(true);
    expect(again.body).toEqual(first.body);
    const other = await hotel.client.request("POST", "/v1/earn", { ...body, amount_minor: 2000 }, { idempotencyKey: `earn-${m.id}` });
    expect(code(other)).toBe("idempotency_key_reused");
    expect((await hotel.client.call<{ balance: Balance }>("GET", `/v1/members/${m.id}`)).balance.available).toBe(100);
  });

  it("a refusal is stored too: the retry gets the same answer", async () => {
    const m = await member();
    const key = `burn-${m.id}`;
    const first = await hotel.client.request("POST", "/v1/burn", { member: m.id, points: 5, reference: "r" }, { idempotencyKey: key });
    expect(code(first)).toBe("insufficient_points");
    await earn(m, 1000);
    const retry = await hotel.client.request("POST", "/v1/burn", { member: m.id, points: 5, reference: "r" }, { idempotencyKey: key });
    expect(retry.replayed).toBe(true);
    expect(retry.body).toEqual(first.body);
  });

  it("lists only the caller's transactions, newest first, with cursors", async () => {
    const m = await member();
    for (let i = 0; i < 5; i++) await earn(m, 1000);
    await taxi.client.call("POST", "/v1/burn", { member: m.id, points: 10, reference: "t" });
    const page1 = await hotel.client.call<{ data: Txn[]; next_cursor: string | null }>("GET", `/v1/transactions?member=${m.id}&limit=2`);
    expect(page1.data).toHaveLength(2);
    const all: Txn[] = [...page1.data];
    let cursor = page1.next_cursor;
    while (cursor) {
      const next = await hotel.client.call<{ data: Txn[]; next_cursor: string | null }>("GET", `/v1/transactions?member=${m.id}&limit=2&cursor=${cursor}`);
      all.push(...next.data);
      cursor = next.next_cursor;
    }
    expect(all.map((t) => t.type)).toEqual(Array(5).fill("earn"));
    expect(new Set(all.map((t) => t.transaction_id)).size).toBe(5);
    for (const bad of ["limit=0", "limit=201", "limit=abc", "cursor=nonsense", "limit=5&extra=1"]) {
      const res = await hotel.client.request("GET", `/v1/transactions?${bad}`);
      expect([bad, res.status, code(res)]).toEqual([bad, 422, "validation_failed"]);
    }
  });
});

describe("scheduled jobs", () => {
  it("release pending points at their time, end lapsed holds, and expire lots into breakage", async () => {
    const { runScheduledJobs } = await import("../../src/jobs/index.js");
    const m = await member();
    const soon = Date.now() + 120_000;
    await earn(m, 10_000, { available_at: new Date(soon).toISOString() }); // 1000 pending
    await earn(m, 5_000); // 500 available
    await taxi.client.call("POST", "/v1/holds", { member: m.id, points: 200, reference: "h", ttl_seconds: 60 });
    const services = (at: number) => ({ config: h.config, db: () => h.db.handle.db, now: () => new Date(at) });
    const balance = async () => (await h.db.handle.db.execute(
      (await import("drizzle-orm")).sql`select available::int, pending::int, held::int from members where id = ${m.id}`,
    )) as unknown as { rows: { available: number; pending: number; held: number }[] };

    await runScheduledJobs(services(Date.now()), new Date());
    expect((await balance()).rows[0]).toEqual({ available: 300, pending: 1000, held: 200 });
    await runScheduledJobs(services(soon + 1000), new Date(soon + 1000));
    expect((await balance()).rows[0]).toEqual({ available: 1500, pending: 0, held: 0 });
    expect(await h.verify()).toEqual([]);

    // 25 months on, every lot of this member has expired into breakage.
    const future = Date.now() + 25 * 31 * 86_400_000;
    const report = await runScheduledJobs(services(future), new Date(future));
    expect(report.expire_points).toMatchObject({ processed: expect.any(Number) });
    expect((await balance()).rows[0]).toEqual({ available: 0, pending: 0, held: 0 });
    const txns = await hotel.client.call<{ data: Txn[] }>("GET", `/v1/transactions?member=${m.id}`);
    expect(txns.data.map((t) => t.type)).toContain("expiry");
  });
});

describe("expiry after inactivity", () => {
  it("expires every lot of a member inactive for the configured months, and no one else's", async () => {
    const { runScheduledJobs } = await import("../../src/jobs/index.js");
    const { loadConfig } = await import("../../src/config.js");
    const config = { ...h.config, inactivityExpiryMonths: 6 };
    const quiet = await member();
    const busy = await member();
    await earn(quiet, 10_000);
    await earn(busy, 10_000);
    const sevenMonths = Date.now() + 7 * 31 * 86_400_000;
    // The busy member spends something a little before the run, in the seventh month.
    const client = clientAt(taxi, sevenMonths - 86_400_000 - Date.now());
    await client.call("POST", "/v1/burn", { member: busy.id, points: 1, reference: "still-here" });
    await runScheduledJobs({ config, db: () => h.db.handle.db, now: () => new Date(sevenMonths) }, new Date(sevenMonths));
    const balances = (await h.db.handle.db.execute(
      (await import("drizzle-orm")).sql`select id, available::int from members where id in (${quiet.id}, ${busy.id})`,
    )) as unknown as { rows: { id: string; available: number }[] };
    const byId = Object.fromEntries(balances.rows.map((r) => [r.id, r.available]));
    expect(byId[quiet.id]).toBe(0);
    expect(byId[busy.id]).toBe(999);
    expect(loadConfig({ ENVIRONMENT: "test", POINTS_INACTIVITY_EXPIRY_MONTHS: "6" }).inactivityExpiryMonths).toBe(6);
  });
});
