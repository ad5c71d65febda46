/**
 * A month of postings across three partners (both billing models), settled and checked against
 * figures computed by hand; final statements are signed, frozen and readable by their partner.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { compactVerify, createLocalJWKSet } from "jose";
import { PartnerClient, StaffClient } from "../../src/client/index.js";
import { createNodeApp } from "../../src/entry/node.js";
import { runScheduledJobs } from "../../src/jobs/index.js";
import { stableStringify } from "../../src/lib/json.js";
import { BASE_URL, clientAtClock, createHarness, type Harness } from "../support/harness.js";

let h: Harness;
let clock = Date.parse("2026-09-01T09:00:00Z");
const at = (iso: string) => (clock = Date.parse(iso));
let hotel: PartnerClient;
let taxi: PartnerClient;
let retail: PartnerClient;
let finance: StaffClient;
let ids: Record<"hotel" | "taxi" | "retail", string>;
let config: Harness["config"];

beforeAll(async () => {
  h = await createHarness({ POINTS_EXPIRY_MONTHS: "1" });
  config = h.config;
  const settlement = (currency: string, billing: string, issue: string, redeem: string, terms: { prepaid_points?: number; credit_limit?: string } = {}) => ({
    currency,
    billing: billing as "issuance",
    issue_price_per_point: issue,
    redemption_price_per_point: redeem,
    period: "monthly" as const,
    ...terms,
  });
  // The hotel is postpaid with a credit limit, the ride-hailing company prepaid, the retailer plain postpaid.
  const H = await h.partner({
    settlement: settlement("EUR", "issuance", "0.008", "0.006", { credit_limit: "500" }),
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "10" }],
  });
  const T = await h.partner({
    settlement: settlement("EUR", "redemption", "0.009", "0.007", { prepaid_points: 10_000 }),
    earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "2" }],
  });
  const R = await h.partner({ settlement: settlement("GBP", "issuance", "0.0075", "0.005"), earn_rules: [{ currency: "GBP", category: "*", points_per_unit: "1" }] });
  ids = { hotel: H.id, taxi: T.id, retail: R.id };
  const app = createNodeApp(h.config, h.db.handle, () => new Date(clock));
  [hotel, taxi, retail] = [H, T, R].map((p) => clientAtClock(h, p, () => clock)) as [PartnerClient, PartnerClient, PartnerClient];
  finance = new StaffClient({ baseUrl: BASE_URL, privateJwk: h.staffKey.privateJwk, sub: "fin@test", role: "finance", fetch: async (i, init) => app.request(i, init), clock: () => Math.floor(clock / 1000) });
});
afterAll(() => h.close());

type Statement = Record<string, unknown> & { statement_id: string; partner_id: string; signature?: string };
type Run = { run_id: string; status: string; statements: Statement[] };
const byPartner = (run: Run) => Object.fromEntries(run.statements.map((s) => [s.partner_id, s]));

describe("a month of settlement", () => {
  let member: string;
  let hotelEarn: string;
  let taxiBurn: string;

  it("posts September and October as a coalition would", async () => {
    at("2026-09-01T09:00:00Z");
    member = (await retail.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "shopper-1" })).member_id;
    for (const partner of [hotel, taxi]) {
      const { code } = await retail.call<{ code: string }>("POST", `/v1/members/${member}/link-codes`, {});
      await partner.call("POST", "/v1/links", { code, external_ref: `m-${Math.random()}` });
    }
    await retail.call("POST", "/v1/earn", { member, amount_minor: 4_000, currency: "GBP", reference: "sep-basket" }); // 40, expires Oct 1

    at("2026-10-02T00:10:00Z");
    await runScheduledJobs({ config, db: () => h.db.handle.db, now: () => new Date(clock) }, new Date(clock)); // the 40 expire
    at("2026-10-03T10:00:00Z");
    hotelEarn = (await hotel.call<{ transaction: { transaction_id: string } }>("POST", "/v1/earn", { member, amount_minor: 12_345, currency: "EUR", reference: "stay" })).transaction.transaction_id; // 1234
    at("2026-10-05T10:00:00Z");
    await taxi.call("POST", "/v1/earn", { member, amount_minor: 5_000, currency: "EUR", reference: "ride" }); // 100
    at("2026-10-10T10:00:00Z");
    await retail.call("POST", "/v1/burn", { member, points: 300, reference: "basket" }); // from the hotel's lot
    at("2026-10-12T10:00:00Z");
    await hotel.call("POST", `/v1/transactions/${hotelEarn}/reversals`, { points: 100, reference: "shortened-stay" });
    at("2026-10-15T10:00:00Z");
    taxiBurn = (await taxi.call<{ transaction: { transaction_id: string } }>("POST", "/v1/burn", { member, points: 900, reference: "airport" })).transaction.transaction_id; // 834 hotel lot + 66 taxi lot
    at("2026-10-20T10:00:00Z");
    await taxi.call("POST", `/v1/transactions/${taxiBurn}/reversals`, { points: 50, reference: "refund" }); // back to the taxi lot
    expect(await h.verify()).toEqual([]);
  });

  it("drafts October to date while it is open, then refuses to finalize before it ends", async () => {
    at("2026-10-25T12:00:00Z");
    const draft = await finance.call<Run>("POST", "/v1/settlement-runs", { period_start: "2026-10-01", period_end: "2026-11-01" });
    expect(draft.status).toBe("draft");
    expect(byPartner(draft)[ids.hotel]).toMatchObject({ earned_points: 1234, earn_reversed_points: 100, issuance_amount: "9.07" });
    const early = await finance.request("POST", `/v1/settlement-runs/${draft.run_id}/finalize`, {});
    expect([early.status, (early.body as { code: string }).code]).toEqual([422, "period_not_closed"]);
  });

  it("finalizes statements that match the hand-computed figures and the ledger's totals", async () => {
    at("2026-11-02T08:00:00Z");
    const draft = await finance.call<Run>("POST", "/v1/settlement-runs", { period_start: "2026-10-01", period_end: "2026-11-01" });
    const final = await finance.call<Run>("POST", `/v1/settlement-runs/${draft.run_id}/finalize`, {});
    expect(final.status).toBe("final");
    const s = byPartner(final);
    // Hotel, issuance billing: (1234 − 100) × 0.008 = 9.072 → 9.07.
    expect(s[ids.hotel]).toMatchObject({
      currency: "EUR", billing: "issuance", earned_points: 1234, earn_reversed_points: 100, burned_points: 0, burn_refunded_points: 0,
      expired_points: 0, operator_funded_points: 0, issuance_amount: "9.07", redemption_amount: "0.00", net_amount: "9.07", entry_count: 2,
    });
    // Taxi, redemption billing: its lot spent by burns 66 − 50 refunded = 16 × 0.009 = 0.144 → 0.14;
    // it redeemed 900 − 50 = 850 × 0.007 = 5.95; net 0.14 − 5.95 = −5.81.
    expect(s[ids.taxi]).toMatchObject({
      currency: "EUR", billing: "redemption", earned_points: 100, burned_points: 900, burn_refunded_points: 50,
      issuance_amount: "0.14", redemption_amount: "5.95", net_amount: "-5.81", entry_count: 3,
    });
    // Retail, GBP: 40 expired (earned in September), 300 redeemed × 0.005 = 1.50.
    expect(s[ids.retail]).toMatchObject({
      currency: "GBP", billing: "issuance", earned_points: 0, expired_points: 40, burned_points: 300,
      issuance_amount: "0.00", redemption_amount: "1.50", net_amount: "-1.50", entry_count: 2,
    });
    for (const st of final.statements) expect(st.number).toMatch(/^ST-2026-\d{6}$/);
    // Each partner learns of its statement through the outbox, in the same transaction.
    const notified = (await h.db.handle.db.execute(sql`select partner_id, data->>'statement_id' as id from events where type = 'statement.finalized'`)) as unknown as {
      rows: { partner_id: string; id: string }[];
    };
    for (const st of final.statements) expect(notified.rows).toContainEqual({ partner_id: st.partner_id, id: st.statement_id });

    // The statements add up to the ledger's own totals for the period.
    const totals = (await h.db.handle.db.execute(sql`
      select type, sum(points)::int as points from postings
       where created_at >= '2026-10-01' and created_at < '2026-11-01' and partner_id in (${ids.hotel}, ${ids.taxi}, ${ids.retail})
       group by type`)) as unknown as { rows: { type: string; points: number }[] };
    const ledger = Object.fromEntries(totals.rows.map((r) => [r.type, r.points]));
    const sum = (k: string) => Object.values(s).reduce((acc, st) => acc + (st[k] as number), 0);
    expect({ earn: sum("earned_points"), burn: sum("burned_points"), earn_reversal: sum("earn_reversed_points"), burn_refund: sum("burn_refunded_points"), expiry: sum("expired_points") }).toEqual({
      earn: ledger.earn, burn: ledger.burn, earn_reversal: ledger.earn_reversal, burn_refund: ledger.burn_refund, expiry: ledger.expiry,
    });
  });

  it("signs final statements with the platform key; anyone can verify against the JWKS", async () => {
    const jwks = (await (await h.app.request("/.well-known/jwks.json")).json()) as { keys: object[] };
    const list = await hotel.call<{ data: Statement[] }>("GET", "/v1/statements");
    expect(list.data).toHaveLength(1);
    const statement = await hotel.call<Statement>("GET", `/v1/statements/${list.data[0]!.statement_id}`);
    const { payload, protectedHeader } = await compactVerify(statement.signature!, createLocalJWKSet(jwks as never));
    expect(protectedHeader.typ).toBe("coalition-statement+jws");
    const { signature: _s, ...unsigned } = statement;
    expect(new TextDecoder().decode(payload)).toBe(stableStringify(unsigned));
    // Another partner cannot read it: the same 404 as for nothing.
    const other = await taxi.request<{ code: string }>("GET", `/v1/statements/${statement.statement_id}`);
    expect([other.status, other.body.code]).toEqual([404, "not_found"]);
  });

  it("refuses finalizing twice, re-running a final period, and changing a final statement", async () => {
    const runs = (await h.db.handle.db.execute(sql`select id from settlement_runs where status = 'final'`)) as unknown as { rows: { id: string }[] };
    const again = await finance.request<{ code: string }>("POST", `/v1/settlement-runs/${runs.rows[0]!.id}/finalize`, {});
    expect([again.status, again.body.code]).toEqual([409, "period_finalized"]);
    const rerun = await finance.request<{ code: string }>("POST", "/v1/settlement-runs", { period_start: "2026-10-15", period_end: "2026-11-15" });
    expect([rerun.status, rerun.body.code]).toEqual([409, "period_finalized"]);
    const tamper = await h.db.handle.db.execute(sql`update statements set net_amount = 0 where status = 'final'`).catch((e: unknown) => e);
    expect(tamper).toBeInstanceOf(Error);
  });

  it("exports a run as CSV", async () => {
    const runs = (await h.db.handle.db.execute(sql`select id from settlement_runs where status = 'final'`)) as unknown as { rows: { id: string }[] };
    const res = await finance.request<string>("GET", `/v1/settlement-runs/${runs.rows[0]!.id}/statements.csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = res.body.trim().split("\r\n");
    expect(lines[0]).toMatch(/^statement_id,number,status,partner_id/);
    expect(lines.find((l) => l.includes(ids.taxi))).toMatch(/,0\.14,5\.95,0\.00,-5\.81,3$/);
  });

  it("a posting at the period boundary lands in exactly one period", async () => {
    at("2026-11-30T23:59:59.999Z");
    await hotel.call("POST", "/v1/earn", { member, amount_minor: 1_000, currency: "EUR", reference: "last-ms" });
    at("2026-12-01T00:00:00.000Z");
    await hotel.call("POST", "/v1/earn", { member, amount_minor: 2_000, currency: "EUR", reference: "first-ms" });
    at("2026-12-01T00:00:01Z");
    const nov = byPartner(await finance.call<Run>("POST", "/v1/settlement-runs", { period_start: "2026-11-01", period_end: "2026-12-01" }))[ids.hotel]!;
    const dec = byPartner(await finance.call<Run>("POST", "/v1/settlement-runs", { period_start: "2026-12-01", period_end: "2027-01-01" }))[ids.hotel]!;
    expect([nov.earned_points, dec.earned_points]).toEqual([100, 200]);
  });

  it("reports the flows between partners and the liability roll-forward", async () => {
    const flows = await finance.call<{ partners: { partner_id: string; earned_points: number; burned_points: number }[]; matrix: { earned_at: string; burned_at: string; points: number }[] }>(
      "GET",
      "/v1/reports/flows?from=2026-10-01&to=2026-11-01",
    );
    const mine = (id: string) => flows.partners.find((x) => x.partner_id === id);
    expect(mine(ids.hotel)).toEqual({ partner_id: ids.hotel, earned_points: 1234, burned_points: 0 });
    expect(mine(ids.taxi)).toEqual({ partner_id: ids.taxi, earned_points: 100, burned_points: 850 });
    expect(mine(ids.retail)).toEqual({ partner_id: ids.retail, earned_points: 0, burned_points: 300 });
    expect(flows.matrix).toEqual(
      expect.arrayContaining([
        { earned_at: ids.hotel, burned_at: ids.retail, points: 300 },
        { earned_at: ids.hotel, burned_at: ids.taxi, points: 834 },
        { earned_at: ids.taxi, burned_at: ids.taxi, points: 16 },
      ]),
    );

    const liability = await finance.call<{ months: { month: string; points: Record<string, number>; value: Record<string, Record<string, string>> }[]; breakage_rate: string }>(
      "GET",
      "/v1/reports/liability?from=2026-09-01&to=2026-11-01",
    );
    expect(liability.months.map((m) => m.month)).toEqual(["2026-09", "2026-10"]);
    expect(liability.months[0]!.points).toEqual({ opening: 0, issued: 40, redeemed: 0, reversed: 0, expired: 0, closing: 40 });
    expect(liability.months[1]!.points).toEqual({ opening: 40, issued: 1334, redeemed: 1150, reversed: 100, expired: 40, closing: 84 });
    expect(liability.months[1]!.value.EUR!.issued).toBe("10.772"); // 1234 × 0.008 + 100 × 0.009
    expect(liability.months[1]!.value.GBP).toMatchObject({ opening: "0.3", expired: "0.3", closing: "0" });
    expect(liability.breakage_rate).toBe("0.029112"); // 40 / 1374
    // Rolled forward to today, the closing liability is exactly what members hold.
    const toDate = await finance.call<{ months: { points: { closing: number } }[] }>("GET", "/v1/reports/liability?from=2026-09-01&to=2027-01-01");
    const held = (await h.db.handle.db.execute(sql`select sum(available + pending + held)::int as n from members`)) as unknown as { rows: { n: number }[] };
    expect(toDate.months.at(-1)!.points.closing).toBe(held.rows[0]!.n);

    const positions = await finance.call<{ unsettled_since: string; partners: { partner_id: string; prepaid_points: number | null; credit_limit: string | null }[] }>(
      "GET",
      "/v1/reports/partners",
    );
    expect(positions.unsettled_since).toBe("2026-11-01");
    expect(positions.partners.find((x) => x.partner_id === ids.hotel)).toMatchObject({ prepaid_points: null, credit_limit: "500" });
    expect(positions.partners.find((x) => x.partner_id === ids.taxi)).toMatchObject({ prepaid_points: 10_000 - 100 });
  });

  it("staff without the finance role, and partners, cannot run settlement", async () => {
    const admin = h.staff("admin");
    expect((await admin.request("POST", "/v1/settlement-runs", { period_start: "2026-10-01", period_end: "2026-11-01" })).status).toBe(403);
    expect((await hotel.request("POST", "/v1/settlement-runs", { period_start: "2026-10-01", period_end: "2026-11-01" })).status).toBe(403);
  });
});

describe("an earn reversed after its points were burned at another partner", () => {
  it("reverses only the unspent points; the issuer pays for the spent ones, which the operator paid the burning partner for", async () => {
    at("2026-07-01T08:00:00Z");
    const settlement = (billing: "issuance" | "redemption") => ({ currency: "EUR", billing, issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" as const });
    const rules = [{ currency: "EUR", category: "*", points_per_unit: "1" }];
    const issuerP = await h.partner({ settlement: settlement("issuance"), earn_rules: rules });
    const lazyP = await h.partner({ settlement: settlement("redemption"), earn_rules: rules });
    const burnerP = await h.partner({ settlement: settlement("issuance"), earn_rules: rules });
    const [issuer, lazy, burner] = [issuerP, lazyP, burnerP].map((p) => clientAtClock(h, p, () => clock)) as [PartnerClient, PartnerClient, PartnerClient];

    // One member per issuer, each linked at the burning partner.
    const setUp = async (client: PartnerClient, ref: string) => {
      const m = (await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: ref })).member_id;
      const { code } = await client.call<{ code: string }>("POST", `/v1/members/${m}/link-codes`, {});
      await burner.call("POST", "/v1/links", { code, external_ref: `b-${ref}` });
      const earn = await client.call<{ transaction: { transaction_id: string } }>("POST", "/v1/earn", { member: m, amount_minor: 100_000, currency: "EUR", reference: `${ref}-earn` });
      at("2026-07-02T08:00:00Z");
      await burner.call("POST", "/v1/burn", { member: m, points: 600, reference: `${ref}-burn` });
      at("2026-07-03T08:00:00Z");
      // Reversing all 1,000 would take 600 points the member no longer has: refused, nothing posted.
      const all = await client.request<{ code: string }>("POST", `/v1/transactions/${earn.transaction.transaction_id}/reversals`, { reference: `${ref}-rev-all` });
      expect([all.status, all.body.code]).toEqual([422, "insufficient_points"]);
      const rest = await client.request<{ transaction: { points: number }; balance: { available: number } }>("POST", `/v1/transactions/${earn.transaction.transaction_id}/reversals`, {
        reference: `${ref}-rev-rest`,
        points: 400,
      });
      expect(rest.status).toBe(201);
      expect(rest.body.balance.available, "never a debt").toBe(0);
    };
    await setUp(issuer, "rev-issuance");
    await setUp(lazy, "rev-redemption");

    at("2026-08-02T08:00:00Z");
    const run = await finance.call<Run>("POST", "/v1/settlement-runs", { period_start: "2026-07-01", period_end: "2026-08-01" });
    const s = byPartner(run);
    // Issuance billing: 1,000 earned, 400 reversed: it pays for the 600 its member spent.
    expect(s[issuerP.id]).toMatchObject({ earned_points: 1_000, earn_reversed_points: 400, burned_points: 0, issuance_amount: "6.00", redemption_amount: "0.00", net_amount: "6.00" });
    // Redemption billing: it pays when its points are redeemed: the 600 burned, never the 400 reversed.
    expect(s[lazyP.id]).toMatchObject({ earned_points: 1_000, earn_reversed_points: 400, issuance_amount: "6.00", net_amount: "6.00" });
    // The burning partner is owed its redemption price for 1,200 points: 9.60, and the operator
    // collected 12.00 for them from the two issuers. No loss is left with the operator.
    expect(s[burnerP.id]).toMatchObject({ burned_points: 1_200, redemption_amount: "9.60", net_amount: "-9.60" });
    expect(await h.verify()).toEqual([]);
  });
});
