import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { applyPartnerDocument } from "../../src/partners/apply.js";
import { PartnerDocument } from "../../src/partners/document.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
let member: string;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({
    settlement: { currency: "EUR", billing: "redemption", issue_price_per_point: "0.009", redemption_price_per_point: "0.007", period: "weekly", prepaid_points: 1_000 },
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
  });
  member = (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "prepaid-member" })).member_id;
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

const balance = async () =>
  Number(((await h.db.handle.db.execute(sql`select prepaid_points::text as n from partners where id = ${p.id}`)) as unknown as { rows: { n: string }[] }).rows[0]!.n);
const earn = (eur: number) => p.client.request<{ code?: string; transaction?: { transaction_id: string } }>("POST", "/v1/earn", { member, amount_minor: eur * 100, currency: "EUR", reference: `e${Math.random()}` });

describe("prepaid partners", () => {
  it("earns draw the block down; at zero an earn is refused and writes nothing; reversals refill it", async () => {
    const first = await earn(600);
    expect(first.status).toBe(201);
    expect(await balance()).toBe(400);
    const before = await h.rowCounts();
    const refused = await earn(500);
    expect([refused.status, refused.body.code]).toEqual([422, "prepaid_points_exhausted"]);
    const after = await h.rowCounts();
    for (const t of ["postings", "entries", "lots"]) expect(after[t]).toBe(before[t]);
    await p.client.call("POST", `/v1/transactions/${first.body.transaction!.transaction_id}/reversals`, { points: 100, reference: "r" });
    expect(await balance()).toBe(500);
    expect((await earn(500)).status).toBe(201);
    expect(await balance()).toBe(0);
  });

  it("buying a block adds to it (admin), and a document sync does not reset it", async () => {
    const bought = await h.staff("admin").call<{ prepaid_points: number }>("POST", `/v1/admin/partners/${p.id}/prepaid-blocks`, { points: 2_000, reference: "PO-1" });
    expect(bought.prepaid_points).toBe((await balance()));
    const now = await balance();
    await applyPartnerDocument(h.db.handle.db, PartnerDocument.parse({ ...p.doc, name: "Renamed" }), { mode: "upsert", now: new Date() });
    expect(await balance()).toBe(now);
  });

  it("concurrent earns never take the block below zero", async () => {
    const start = await balance();
    const results = await Promise.all(Array.from({ length: 30 }, () => earn(100)));
    const ok = results.filter((r) => r.status === 201).length;
    expect(ok).toBe(Math.min(30, Math.floor(start / 100)));
    expect(results.filter((r) => r.status !== 201).every((r) => r.body.code === "prepaid_points_exhausted")).toBe(true);
    expect(await balance()).toBe(start - ok * 100);
  });

  it("a PATCH changes only what it names: a settlement without prepaid_points keeps the partner prepaid", async () => {
    const q = await h.partner({
      settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly", prepaid_points: 100 },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    });
    const m = (await q.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "patched" })).member_id;
    // The whole settlement object, as a client that read it before prepaid existed would send it.
    const { prepaid_points: _p, ...terms } = q.doc.settlement;
    const patched = await h.staff("admin").call<{ settlement: Record<string, unknown> }>("PATCH", `/v1/admin/partners/${q.id}`, {
      settlement: { ...terms, issue_price_per_point: "0.02" },
    });
    expect(patched.settlement).toMatchObject({ issue_price_per_point: "0.02", prepaid_points: 100 });
    // One nested field alone: the rest of settlement stays as it was.
    const one = await h.staff("admin").call<{ settlement: Record<string, unknown> }>("PATCH", `/v1/admin/partners/${q.id}`, { settlement: { period: "weekly" } });
    expect(one.settlement).toEqual({ ...terms, issue_price_per_point: "0.02", period: "weekly", prepaid_points: 100 });
    const big = await q.client.request<{ code?: string }>("POST", "/v1/earn", { member: m, amount_minor: 500_000, currency: "EUR", reference: "big" });
    expect([big.status, big.body.code]).toEqual([422, "prepaid_points_exhausted"]);

    const sneaky = await h.staff("admin").request<{ code: string; errors: { path: string; message: string }[] }>("PATCH", `/v1/admin/partners/${q.id}`, {
      settlement: { prepaid_points: 1_000_000 },
    });
    expect([sneaky.status, sneaky.body.code]).toEqual([422, "validation_failed"]);
    expect(sneaky.body.errors[0]).toMatchObject({ path: "settlement.prepaid_points" });
    expect(sneaky.body.errors[0]!.message).toMatch(/funding/);
    // A partner document without prepaid_points does not make it postpaid either.
    await expect(applyPartnerDocument(h.db.handle.db, PartnerDocument.parse({ ...q.doc, settlement: terms }), { mode: "upsert", now: new Date() })).rejects.toMatchObject({
      code: "validation_failed",
      extra: { errors: [expect.objectContaining({ path: "settlement.prepaid_points", message: expect.stringMatching(/funding/) })] },
    });
    const prepaidNow = (await h.db.handle.db.execute(sql`select prepaid_points::int as n from partners where id = ${q.id}`)) as unknown as { rows: { n: number }[] };
    expect(prepaidNow.rows[0]!.n).toBe(100);
  });

  it("null removes an optional field (JSON merge), and funding mode changes only through its own operation", async () => {
    const q = await h.partner({
      settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly", credit_limit: "5" },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    });
    const m = (await q.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "funding" })).member_id;
    const earnAt = (eur: number) => q.client.request<{ code?: string }>("POST", "/v1/earn", { member: m, amount_minor: eur * 100, currency: "EUR", reference: `f${Math.random()}` });
    expect((await earnAt(600)).body.code).toBe("credit_limit_exceeded");
    const lifted = await h.staff("admin").call<{ settlement: Record<string, unknown> }>("PATCH", `/v1/admin/partners/${q.id}`, { settlement: { credit_limit: null } });
    expect(lifted.settlement).not.toHaveProperty("credit_limit");
    expect((await earnAt(600)).status).toBe(201);

    const toPrepaid = await h.staff("admin").call<{ settlement: Record<string, unknown>; forfeited_prepaid_points: number }>("POST", `/v1/admin/partners/${q.id}/funding`, { mode: "prepaid" });
    expect(toPrepaid.settlement.prepaid_points).toBe(0);
    expect((await earnAt(1)).body.code).toBe("prepaid_points_exhausted");
    await h.staff("admin").call("POST", `/v1/admin/partners/${q.id}/prepaid-blocks`, { points: 300, reference: "PO-9" });
    expect((await earnAt(100)).status).toBe(201);
    const again = await h.staff("admin").call<{ settlement: Record<string, unknown> }>("POST", `/v1/admin/partners/${q.id}/funding`, { mode: "prepaid" });
    expect(again.settlement.prepaid_points, "asking for the mode it has changes nothing").toBe(200);
    const toPostpaid = await h.staff("admin").call<{ settlement: Record<string, unknown>; forfeited_prepaid_points: number }>("POST", `/v1/admin/partners/${q.id}/funding`, { mode: "postpaid" });
    expect(toPostpaid.forfeited_prepaid_points).toBe(200);
    expect(toPostpaid.settlement).not.toHaveProperty("prepaid_points");
    expect((await earnAt(1_000)).status).toBe(201);
  });

  it("a postpaid partner cannot buy blocks", async () => {
    const post = await h.partner();
    const res = await h.staff("admin").request<{ code: string }>("POST", `/v1/admin/partners/${post.id}/prepaid-blocks`, { points: 10, reference: "x" });
    expect([res.status, res.body.code]).toEqual([422, "not_prepaid"]);
  });
});

describe("credit limits of postpaid partners", () => {
  it("refuses an earn that would take the unsettled amount over the limit; burns at the partner make room", async () => {
    const q = await h.partner({
      settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.01", period: "monthly", credit_limit: "10" },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    });
    const m = (await q.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "credit" })).member_id;
    const earnAt = (eur: number) => q.client.request<{ code?: string }>("POST", "/v1/earn", { member: m, amount_minor: eur * 100, currency: "EUR", reference: `c${Math.random()}` });
    expect((await earnAt(900)).status).toBe(201); // owes 9.00
    const over = await earnAt(101); // would owe 10.01
    expect([over.status, over.body.code]).toEqual([422, "credit_limit_exceeded"]);
    expect((await earnAt(100)).status).toBe(201); // exactly 10.00 is allowed
    await q.client.call("POST", "/v1/burn", { member: m, points: 500, reference: "spend" }); // it is owed 5.00 now
    expect((await earnAt(500)).status).toBe(201);
    expect((await earnAt(1)).body.code).toBe("credit_limit_exceeded");
  });

  it("concurrent earns never overshoot the limit", async () => {
    const q = await h.partner({
      settlement: { currency: "EUR", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.01", period: "monthly", credit_limit: "10" },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    });
    const m = (await q.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "credit-race" })).member_id;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => q.client.request<{ code?: string }>("POST", "/v1/earn", { member: m, amount_minor: 10_000, currency: "EUR", reference: `race-${i}` })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(10); // 10 × 1.00
    expect(results.filter((r) => r.status !== 201).every((r) => r.body.code === "credit_limit_exceeded")).toBe(true);
  });
});

describe("credit limits under redemption billing", () => {
  it("counts the partner's points redeemed anywhere (lot lineage) against its limit", async () => {
    const issuer = await h.partner({
      settlement: { currency: "EUR", billing: "redemption", issue_price_per_point: "0.01", redemption_price_per_point: "0.01", period: "monthly", credit_limit: "1" },
      earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }],
    });
    const burner = await h.partner();
    const m = (await issuer.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "lineage" })).member_id;
    const { code } = await issuer.client.call<{ code: string }>("POST", `/v1/members/${m}/link-codes`, {});
    await burner.client.call("POST", "/v1/links", { code, external_ref: "lineage-b" });
    const earn = () => issuer.client.request<{ code?: string }>("POST", "/v1/earn", { member: m, amount_minor: 50_000, currency: "EUR", reference: `l${Math.random()}` });
    expect((await earn()).status).toBe(201); // redemption billing: nothing owed yet
    await burner.client.call("POST", "/v1/burn", { member: m, points: 150, reference: "spend" }); // 150 × 0.01 = 1.50 owed by the issuer
    const refused = await earn();
    expect([refused.status, refused.body.code]).toEqual([422, "credit_limit_exceeded"]);
  });
});
