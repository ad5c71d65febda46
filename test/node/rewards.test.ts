/**
 * The rewards catalogue and redemptions through the API, as partners would call it: the partner
 * that makes a redemption, the partner that supplies the reward, and a stranger to both.
 * Every scenario ends with every ledger invariant checked (rewards ones included).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let maker: TestPartner; // makes redemptions for its members
let supplier: TestPartner; // supplies the rewards
let stranger: TestPartner;
let refCounter = 0;

interface Redemption {
  redemption_id: string;
  status: string;
  points: number;
  quantity: number;
  vouchers?: { code: string; status: string; expires_at: string }[];
  transaction: { transaction_id: string; type: string; points: number };
  refund_transaction?: { type: string; points: number; original_transaction_id: string };
  balance?: { available: number };
}
interface Problem {
  code: string;
}

beforeAll(async () => {
  h = await createHarness();
  maker = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  supplier = await h.partner({ category: "retail", settlement: { currency: "GBP", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" } });
  stranger = await h.partner();
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

const admin = () => h.staff("admin");
const reward = (body: Record<string, unknown>) =>
  admin().call<{ reward_id: string; stock: number | null }>("POST", "/v1/admin/rewards", {
    supplier_id: supplier.id,
    kind: "voucher",
    name: "Gift card",
    points: 100,
    supplier_price: "0.9",
    ...body,
  });

/** A member of `maker` with `points` available. */
async function memberWith(points: number): Promise<string> {
  const { member_id } = await maker.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `m-${++refCounter}-${Math.random()}` });
  if (points > 0) await maker.client.call("POST", "/v1/earn", { member: member_id, amount_minor: points * 100, currency: "EUR", reference: `seed-${refCounter}` });
  return member_id;
}
const redeem = (member: string, reward_id: string, extra: Record<string, unknown> = {}) =>
  maker.client.request<Redemption & Problem>("POST", "/v1/redemptions", { member, reward_id, reference: `r-${++refCounter}`, ...extra });
const available = async (member: string) => (await maker.client.call<{ balance: { available: number } }>("GET", `/v1/members/${member}`)).balance.available;
const events = async (partner: string, type: string) =>
  ((await h.db.handle.db.execute(sql`select data from events where partner_id = ${partner} and type = ${type}`)) as unknown as { rows: { data: Record<string, unknown> }[] }).rows.map((r) => r.data);

describe("catalogue", () => {
  it("admins add and change rewards; partners list only active ones, with their stock; a bad reward is refused", async () => {
    const a = await reward({ name: "Mug", kind: "item", stock: 3 });
    const listed = await maker.client.call<{ data: { reward_id: string; stock: number | null }[] }>("GET", "/v1/rewards?kind=item&limit=200");
    expect(listed.data.find((r) => r.reward_id === a.reward_id)?.stock).toBe(3);
    const paused = await admin().call<{ status: string; points: number }>("PATCH", `/v1/admin/rewards/${a.reward_id}`, { status: "paused", points: 150 });
    expect(paused).toMatchObject({ status: "paused", points: 150 });
    const after = await maker.client.call<{ data: { reward_id: string }[] }>("GET", "/v1/rewards?limit=200");
    expect(after.data.map((r) => r.reward_id)).not.toContain(a.reward_id);
    const bad = await admin().request<Problem>("POST", "/v1/admin/rewards", { supplier_id: supplier.id, kind: "transfer", name: "Miles", points: 10, supplier_price: "1" });
    expect([bad.status, bad.body.code]).toEqual([422, "validation_failed"]);
    const noSupplier = await admin().request<Problem>("POST", "/v1/admin/rewards", { supplier_id: "nobody", kind: "item", name: "x", points: 10, supplier_price: "1" });
    expect([noSupplier.status, noSupplier.body.code]).toEqual([422, "validation_failed"]);
    expect((await maker.client.request("POST", "/v1/admin/rewards", {})).status).toBe(403);
    expect((await admin().request("PATCH", "/v1/admin/rewards/rwd_00000000000000000000000000", { status: "active" })).status).toBe(404);
  });
});

describe("vouchers", () => {
  it("redeem takes the points, issues unguessable codes shown in full only to the maker, and the supplier uses each once", async () => {
    const r = await reward({ face_value: { amount_minor: 1000, currency: "GBP" }, stock: 10 });
    const member = await memberWith(500);
    const res = await redeem(member, r.reward_id, { quantity: 2 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: "issued", points: 200, quantity: 2, transaction: { type: "redemption", points: 200 }, balance: { available: 300 } });
    const codes = res.body.vouchers!.map((v) => v.code);
    expect(codes).toHaveLength(2);
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    // The supplier sees the redemption, never a whole code.
    const seen = await supplier.client.call<Redemption>("GET", `/v1/redemptions/${res.body.redemption_id}`);
    expect(seen.vouchers!.map((v) => v.code).sort()).toEqual(codes.map((c) => `…${c.slice(-4)}`).sort());
    // Stock went down by the quantity.
    const listed = await maker.client.call<{ data: { reward_id: string; stock: number }[] }>("GET", "/v1/rewards?limit=200");
    expect(listed.data.find((x) => x.reward_id === r.reward_id)!.stock).toBe(8);

    const used = await supplier.client.request<{ status: string; face_value: unknown; redemption_id: string }>("POST", `/v1/vouchers/${codes[0]!.toLowerCase()}/use`, { reference: "till-1" });
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ status: "used", redemption_id: res.body.redemption_id, face_value: { amount_minor: 1000, currency: "GBP" } });
    // Used, unknown, another supplier's: one answer for all.
    const again = await supplier.client.request<Problem>("POST", `/v1/vouchers/${codes[0]}/use`, { reference: "till-2" });
    const unknown = await supplier.client.request<Problem>("POST", "/v1/vouchers/AAAA-BBBB-CCCC-DDDD/use", { reference: "till-3" });
    const foreign = await stranger.client.request<Problem>("POST", `/v1/vouchers/${codes[1]}/use`, { reference: "till-4" });
    for (const refused of [again, unknown, foreign]) expect([refused.status, refused.body.code]).toEqual([422, "voucher_not_usable"]);
    expect(JSON.stringify(unknown.body).replace(/req_\w+/g, "")).toBe(JSON.stringify(foreign.body).replace(/req_\w+/g, "").replace(foreign.body.code, unknown.body.code));
    // One voucher used: the redemption can no longer be cancelled.
    const cancel = await maker.client.request<Problem>("POST", `/v1/redemptions/${res.body.redemption_id}/cancel`, {});
    expect([cancel.status, cancel.body.code]).toEqual([422, "redemption_not_cancellable"]);
    const fulfilled = ((await h.db.handle.db.execute(sql`select units, supplier_price::text as price, currency from reward_fulfilments where redemption_id = ${res.body.redemption_id}`)) as unknown as { rows: unknown[] }).rows;
    expect(fulfilled).toEqual([{ units: 1, price: "0.900000", currency: "GBP" }]);
  });

  it("cancel returns every point to the lots it came from, restores stock, cancels the codes and tells the supplier", async () => {
    const r = await reward({ stock: 5 });
    const member = await memberWith(300);
    const made = await redeem(member, r.reward_id, { quantity: 3 });
    expect(made.status).toBe(201);
    expect(await available(member)).toBe(0);
    const cancelled = await maker.client.request<Redemption>("POST", `/v1/redemptions/${made.body.redemption_id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled", refund_transaction: { type: "redemption_refund", points: 300, original_transaction_id: made.body.transaction.transaction_id } });
    expect(cancelled.body.vouchers!.every((v) => v.status === "cancelled")).toBe(true);
    expect(await available(member)).toBe(300);
    const listed = await maker.client.call<{ data: { reward_id: string; stock: number }[] }>("GET", "/v1/rewards?limit=200");
    expect(listed.data.find((x) => x.reward_id === r.reward_id)!.stock).toBe(5);
    expect((await events(supplier.id, "redemption.cancelled")).map((e) => e.redemption_id)).toContain(made.body.redemption_id);
    const use = await supplier.client.request<Problem>("POST", `/v1/vouchers/${made.body.vouchers![0]!.code}/use`, { reference: "late" });
    expect(use.body.code).toBe("voucher_not_usable");
    const twice = await maker.client.request<Problem>("POST", `/v1/redemptions/${made.body.redemption_id}/cancel`, {});
    expect(twice.body.code).toBe("redemption_not_cancellable");
    // The transactions list shows both postings to the maker.
    const txns = await maker.client.call<{ data: { type: string }[] }>("GET", `/v1/transactions?member=${member}`);
    expect(txns.data.map((t) => t.type).slice(0, 2)).toEqual(["redemption_refund", "redemption"]);
  });

  it("a retried redemption has one effect", async () => {
    const r = await reward({ stock: 2 });
    const member = await memberWith(300);
    const body = { member, reward_id: r.reward_id, reference: "once" };
    const first = await maker.client.request<Redemption>("POST", "/v1/redemptions", body, { idempotencyKey: "redeem-once" });
    const second = await maker.client.request<Redemption>("POST", "/v1/redemptions", body, { idempotencyKey: "redeem-once" });
    expect(second.replayed).toBe(true);
    expect(second.body.redemption_id).toBe(first.body.redemption_id);
    expect(await available(member)).toBe(200);
  });
});

describe("items and transfers", () => {
  it("an item is requested (the supplier is told), then fulfilled; a transfer needs the member's account; a rejection refunds", async () => {
    const mug = await reward({ kind: "item", name: "Mug", points: 50 });
    const miles = await reward({ kind: "transfer", name: "Miles", points: 100, transfer: { program: "SkyMiles", units_per_unit: 500 } });
    const member = await memberWith(400);
    const item = await redeem(member, mug.reward_id);
    expect(item.body.status).toBe("requested");
    expect((await events(supplier.id, "redemption.requested")).map((e) => e.redemption_id)).toContain(item.body.redemption_id);
    const wrongCaller = await maker.client.request<Problem>("POST", `/v1/redemptions/${item.body.redemption_id}/fulfil`, { reference: "x" });
    expect(wrongCaller.status).toBe(404);
    const fulfilled = await supplier.client.request<Redemption & { fulfilment_reference: string }>("POST", `/v1/redemptions/${item.body.redemption_id}/fulfil`, { reference: "parcel-1" });
    expect(fulfilled.body).toMatchObject({ status: "fulfilled", fulfilment_reference: "parcel-1" });
    expect((await maker.client.request<Problem>("POST", `/v1/redemptions/${item.body.redemption_id}/cancel`, {})).body.code).toBe("redemption_not_cancellable");
    expect((await supplier.client.request<Problem>("POST", `/v1/redemptions/${item.body.redemption_id}/reject`, { reason: "late" })).body.code).toBe("redemption_not_cancellable");

    const noAccount = await redeem(member, miles.reward_id);
    expect([noAccount.status, noAccount.body.code]).toEqual([422, "validation_failed"]);
    const transfer = await redeem(member, miles.reward_id, { transfer_account: "SM-123456" });
    expect(transfer.status).toBe(201);
    const requested = await events(supplier.id, "redemption.requested");
    expect(requested.find((e) => e.redemption_id === transfer.body.redemption_id)).toMatchObject({ transfer_account: "SM-123456", transfer_units: 500 });
    const before = await available(member);
    const rejected = await supplier.client.request<Redemption>("POST", `/v1/redemptions/${transfer.body.redemption_id}/reject`, { reason: "unknown account" });
    expect(rejected.body).toMatchObject({ status: "rejected", refund_transaction: { type: "redemption_refund", points: 100 } });
    expect(await available(member)).toBe(before + 100);
  });
});

describe("refusals", () => {
  it("out of stock, paused, over the per-member limit, or short of points: refused, and nothing is written", async () => {
    const scarce = await reward({ stock: 1, per_member_limit: 5 });
    const limited = await reward({ per_member_limit: 1 });
    const member = await memberWith(1_000);
    expect((await redeem(member, scarce.reward_id)).status).toBe(201);
    const before = await h.rowCounts();
    const out = await redeem(member, scarce.reward_id);
    expect([out.status, out.body.code]).toEqual([422, "reward_unavailable"]);
    expect((await redeem(member, limited.reward_id)).status).toBe(201);
    const over = await redeem(member, limited.reward_id);
    expect([over.status, over.body.code]).toEqual([422, "redemption_limit_reached"]);
    const poor = await memberWith(50);
    const short = await redeem(poor, limited.reward_id);
    expect([short.status, short.body.code]).toEqual([422, "insufficient_points"]);
    await admin().call("PATCH", `/v1/admin/rewards/${limited.reward_id}`, { status: "paused" });
    const paused = await redeem(await memberWith(500), limited.reward_id);
    expect([paused.status, paused.body.code]).toEqual([422, "reward_unavailable"]);
    const none = await redeem(member, "rwd_00000000000000000000000000");
    expect([none.status, none.body.code]).toEqual([404, "not_found"]);
    const after = await h.rowCounts();
    // Only the one successful redemption and the two seeding earns wrote postings: refusals wrote none.
    expect(after.postings! - before.postings!).toBe(1 + 2);
  });

  it("a stranger to a redemption cannot see, cancel, fulfil or reject it; a member not linked cannot be redeemed for", async () => {
    const r = await reward({ kind: "item" });
    const member = await memberWith(200);
    const made = await redeem(member, r.reward_id);
    for (const [method, path, body] of [
      ["GET", `/v1/redemptions/${made.body.redemption_id}`, undefined],
      ["POST", `/v1/redemptions/${made.body.redemption_id}/cancel`, {}],
      ["POST", `/v1/redemptions/${made.body.redemption_id}/fulfil`, { reference: "x" }],
      ["POST", `/v1/redemptions/${made.body.redemption_id}/reject`, { reason: "x" }],
    ] as const) {
      const res = await stranger.client.request<Problem>(method, path, body);
      expect([res.status, res.body.code], `${method} ${path}`).toEqual([404, "not_found"]);
    }
    const list = await stranger.client.call<{ data: unknown[] }>("GET", "/v1/redemptions");
    expect(list.data).toEqual([]);
    const notLinked = await stranger.client.request<Problem>("POST", "/v1/redemptions", { member, reward_id: r.reward_id, reference: "x" });
    expect([notLinked.status, notLinked.body.code]).toEqual([404, "member_not_found"]);
    // The maker and the supplier both list it.
    for (const p of [maker, supplier]) {
      const mine = await p.client.call<{ data: { redemption_id: string }[] }>("GET", "/v1/redemptions?status=requested&limit=200");
      expect(mine.data.map((x) => x.redemption_id)).toContain(made.body.redemption_id);
    }
  });
});
