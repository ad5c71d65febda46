/**
 * The tier window (rolling 12 months) at its edges: the window may start mid-month, so the
 * monthly sums cover whole months and the start month is counted earn by earn; a reversal counts
 * against the month of the earn it reverses, whenever it is made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import type { PartnerClient } from "../../src/client/index.js";
import { clientAtClock, createHarness, type Harness } from "../support/harness.js";

let h: Harness;
let clock = Date.parse("2025-01-20T10:00:00Z");
let client: PartnerClient;

beforeAll(async () => {
  h = await createHarness();
  client = clientAtClock(h, await h.partner({ allow_explicit_points: true }), () => clock);
});
afterAll(() => h.close());

const at = (iso: string) => (clock = Date.parse(iso));

describe("tier window", () => {
  it("counts a mid-month window start exactly and reversals against their earn's month", async () => {
    const { member_id: member } = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "tier-edge" });
    const earn = (points: number, reference: string) =>
      client.call<{ transaction: { transaction_id: string }; bonus_points: number }>("POST", "/v1/earn", { member, amount_minor: 0, currency: "EUR", reference, points });
    const tier = async () => (await client.call<{ tier: string }>("GET", `/v1/members/${member}`)).tier;
    const bonusOn100 = async () => (await client.call<{ bonus_points: number }>("POST", "/v1/earn/quote", { member, amount_minor: 0, currency: "EUR", reference: "q", points: 100 })).bonus_points;

    at("2025-01-20T10:00:00Z");
    const first = await earn(6_000, "jan");
    at("2025-03-05T10:00:00Z");
    expect((await earn(5_000, "mar")).bonus_points).toBe(0); // 6,000 so far: still blue
    expect(await tier()).toBe("silver"); // 11,000 now
    at("2025-06-10T10:00:00Z");
    await client.call("POST", `/v1/transactions/${first.transaction.transaction_id}/reversals`, { points: 1_000, reference: "jan-part" });

    // The window starts 2025-01-19: January's earn is in, net of the June reversal of it.
    at("2026-01-19T09:00:00Z");
    expect(await tier()).toBe("silver"); // 6,000 − 1,000 + 5,000 = 10,000
    expect(await bonusOn100()).toBe(25);
    // A day later the window starts 2025-01-21: January's earn (and its reversal) drop out.
    at("2026-01-21T11:00:00Z");
    expect(await tier()).toBe("blue"); // 5,000
    expect(await bonusOn100()).toBe(0);

    // The monthly sums say the same: January net 5,000 (its reversal counted there), March 5,000.
    const months = (await h.db.handle.db.execute(
      sql`select month::text, points::int from member_earn_months where member_id = ${member} order by month`,
    )) as unknown as { rows: { month: string; points: number }[] };
    expect(months.rows).toEqual([
      { month: "2025-01-01", points: 5_000 },
      { month: "2025-03-01", points: 5_000 },
    ]);
    expect(await h.verify()).toEqual([]);
  });

  it("ledger:verify reports monthly sums that disagree with the postings", async () => {
    await h.db.handle.db.execute(sql`update member_earn_months set points = points + 1 where month = '2025-03-01'`);
    expect((await h.verify()).map((b) => b.invariant)).toContain("monthly earn sums (the tier window's) equal their postings");
    await h.db.handle.db.execute(sql`update member_earn_months set points = points - 1 where month = '2025-03-01'`);
    expect(await h.verify()).toEqual([]);
  });
});
