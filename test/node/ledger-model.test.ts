/**
 * Property-based: random sequences of earn, quote, burn, hold, capture, void, reverse, refund,
 * release (time passes), wait (days pass: the tier window moves) and expire (two years pass)
 * against a small reference model. After
 * every step the API's balance and status must equal the model's, and every ledger invariant
 * must hold. Seeded and replayable: FC_SEED=<n> FC_PATH=<path> reproduce a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { PartnerClient } from "../../src/client/index.js";
import { runScheduledJobs } from "../../src/jobs/index.js";
import { TIERS } from "../../src/ledger/tiers.js";
import { clientAtClock, createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
let clock = Date.now();
let client: PartnerClient;

beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "10" }] });
  client = clientAtClock(h, p, () => clock);
});
afterAll(() => h.close());

type Op =
  | { op: "earn"; amount: number; pending: boolean }
  | { op: "quote"; amount: number }
  | { op: "burn" | "hold"; points: number }
  | { op: "capture"; hold: number; points?: number }
  | { op: "void"; hold: number }
  | { op: "reverse"; earn: number; points?: number }
  | { op: "refund"; burn: number; points?: number }
  | { op: "release" }
  | { op: "wait"; days: number }
  | { op: "expire" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("earn" as const), amount: fc.integer({ min: 10, max: 60_000 }), pending: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("quote" as const), amount: fc.integer({ min: 10, max: 60_000 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom("burn" as const, "hold" as const), points: fc.integer({ min: 1, max: 3_000 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("capture" as const), hold: fc.nat(20), points: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("void" as const), hold: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("reverse" as const), earn: fc.nat(20), points: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("refund" as const), burn: fc.nat(20), points: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.constant({ op: "release" as const }) },
  // Moves the tier window's start across month boundaries, mid-month.
  { weight: 1, arbitrary: fc.record({ op: fc.constant("wait" as const), days: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: "expire" as const }) },
);

interface ModelEarn {
  id: string;
  points: number;
  reversed: number;
  at: number;
  releaseAt: number | null;
  /** The earn's lot: points of it the member still has (pending until released). */
  remaining: number;
  expiresAt: number;
}

/** Postgres' `timestamptz + interval 'n months'`: the same day of month, clamped to the month's end. */
function addMonths(ms: number, months: number): number {
  const d = new Date(ms);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

class Model {
  available = 0;
  pending = 0;
  held = 0;
  earns: ModelEarn[] = [];
  burns: { id: string; points: number; refunded: number; spent: Map<ModelEarn, number> }[] = [];
  holds: { id: string; points: number; status: string; expiresAt: number }[] = [];

  /** What the server does before every posting and read: due releases, lapsed holds. */
  settle(now: number) {
    for (const e of this.earns)
      if (e.releaseAt !== null && e.releaseAt <= now) {
        const left = e.points - e.reversed;
        this.pending -= left;
        this.available += left;
        e.releaseAt = null;
      }
    for (const hld of this.holds)
      if (hld.status === "authorized" && hld.expiresAt <= now) {
        hld.status = "expired";
        this.held -= hld.points;
        this.available += hld.points;
      }
  }

  /**
   * The server's lot rule after every posting: released lots hold exactly available + held.
   * Surplus leaves the oldest lots first (`first` before all); a shortfall (a refund) goes back to
   * the lots `source` spent, then the newest lots with room.
   */
  follow(options: { first?: ModelEarn; source?: Map<ModelEarn, number> } = {}): Map<ModelEarn, number> {
    const moved = new Map<ModelEarn, number>();
    const lots = this.earns.filter((e) => e.releaseAt === null);
    const target = Math.max(this.available + this.held, 0);
    let gap = target - lots.reduce((sum, e) => sum + e.remaining, 0);
    if (gap < 0) {
      for (const e of [...(options.first ? [options.first] : []), ...lots.filter((l) => l !== options.first)]) {
        const take = Math.min(e.remaining, -gap);
        if (take <= 0) continue;
        e.remaining -= take;
        moved.set(e, take);
        gap += take;
        if (gap === 0) break;
      }
    } else if (gap > 0) {
      const touched = (e: ModelEarn) => (options.source?.has(e) ? 1 : 0);
      const order = lots.filter((e) => e.remaining < e.points).sort((a, b) => touched(b) - touched(a) || this.earns.indexOf(b) - this.earns.indexOf(a));
      for (const e of order) {
        const give = Math.min(e.points - e.remaining, gap);
        e.remaining += give;
        gap -= give;
        if (gap === 0) break;
      }
    }
    return moved;
  }

  /** The expiry job: released lots past their date give up what is available of them, oldest first. */
  expireLots(now: number) {
    const due = this.earns.filter((e) => e.releaseAt === null && e.remaining > 0 && e.expiresAt <= now).sort((a, b) => a.expiresAt - b.expiresAt);
    for (const e of due) {
      const take = Math.min(e.remaining, Math.max(this.available, 0));
      e.remaining -= take;
      this.available -= take;
    }
  }

  quote(amount: number, now: number): number {
    const base = Math.floor(amount / 10);
    const since = new Date(now);
    since.setUTCMonth(since.getUTCMonth() - 12);
    const earned = this.earns.filter((e) => e.at >= since.getTime()).reduce((s, e) => s + e.points - e.reversed, 0);
    let mult = TIERS[0]!.multiplier;
    for (const t of TIERS) if (earned >= t.threshold) mult = t.multiplier;
    const bonus = Math.floor((base * Math.round(Number(mult) * 100 - 100)) / 100);
    return base + bonus;
  }
}

async function run(ops: Op[]) {
  const m = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `model-${Math.random()}` });
  const model = new Model();
  let waited = 0;
  const expectBalance = async (label: string) => {
    const got = (await client.call<{ balance: object }>("GET", `/v1/members/${m.member_id}`)).balance;
    expect(got, label).toEqual({ available: model.available, pending: model.pending, held: model.held });
  };
  for (const [step, o] of ops.entries()) {
    const label = `step ${step}: ${JSON.stringify(o)}`;
    model.settle(clock);
    switch (o.op) {
      case "earn": {
        const points = model.quote(o.amount, clock);
        const res = await client.request<{ transaction: { transaction_id: string; status: string } }>("POST", "/v1/earn", {
          member: m.member_id,
          amount_minor: o.amount,
          currency: "EUR",
          reference: `e${step}`,
          ...(o.pending ? { available_at: new Date(clock + 3_600_000).toISOString() } : {}),
        });
        expect(res.status, label).toBe(201);
        expect(res.body.transaction.status, label).toBe(o.pending ? "pending" : "posted");
        model.earns.push({ id: res.body.transaction.transaction_id, points, reversed: 0, at: clock, releaseAt: o.pending ? clock + 3_600_000 : null, remaining: points, expiresAt: addMonths(clock, 24) });
        if (o.pending) model.pending += points;
        else model.available += points;
        // Lots are spent in (expires_at, id) order: a second apart, no two earns tie on their date.
        clock += 1_000;
        break;
      }
      case "quote": {
        const res = await client.request<{ points: number }>("POST", "/v1/earn/quote", { member: m.member_id, amount_minor: o.amount, currency: "EUR", reference: "q" });
        expect(res.body.points, label).toBe(model.quote(o.amount, clock));
        break;
      }
      case "burn":
      case "hold": {
        const res = await client.request<{ transaction?: { transaction_id: string }; hold_id?: string; code?: string }>("POST", o.op === "burn" ? "/v1/burn" : "/v1/holds", {
          member: m.member_id,
          points: o.points,
          reference: `b${step}`,
        });
        if (model.available >= o.points) {
          expect(res.status, label).toBe(201);
          model.available -= o.points;
          if (o.op === "burn") model.burns.push({ id: res.body.transaction!.transaction_id, points: o.points, refunded: 0, spent: model.follow() });
          else {
            model.held += o.points;
            model.holds.push({ id: res.body.hold_id!, points: o.points, status: "authorized", expiresAt: clock + 900_000 });
          }
        } else expect([res.status, res.body.code], label).toEqual([422, "insufficient_points"]);
        break;
      }
      case "capture":
      case "void": {
        const hold = model.holds[o.hold % Math.max(model.holds.length, 1)];
        if (!hold) break;
        const points = o.op === "capture" ? o.points : undefined;
        const res = await client.request<{ code?: string }>("POST", `/v1/holds/${hold.id}/${o.op}`, points === undefined ? {} : { points });
        if (hold.status !== "authorized") expect([res.status, res.body.code], label).toEqual([422, "hold_not_active"]);
        else if (points !== undefined && points > hold.points) expect([res.status, res.body.code], label).toEqual([422, "capture_exceeds_hold"]);
        else {
          expect(res.status, label).toBe(200);
          const captured = o.op === "capture" ? (points ?? hold.points) : 0;
          model.held -= hold.points;
          model.available += hold.points - captured;
          hold.status = o.op === "capture" ? "captured" : "voided";
          model.follow();
        }
        break;
      }
      case "reverse":
      case "refund": {
        const list = o.op === "reverse" ? model.earns : model.burns;
        const original = list[(o.op === "reverse" ? o.earn : o.burn) % Math.max(list.length, 1)];
        if (!original) break;
        const done = "reversed" in original ? original.reversed : original.refunded;
        const amount = o.points ?? original.points - done;
        const res = await client.request<{ code?: string }>("POST", `/v1/transactions/${original.id}/reversals`, {
          ...(o.points === undefined ? {} : { points: o.points }),
          reference: `r${step}`,
        });
        if (amount < 1 || done + amount > original.points) {
          expect([res.status, res.body.code], label).toEqual([422, "reversal_exceeds_original"]);
          break;
        }
        if ("reversed" in original) {
          // Only points of this earn the member still has: never a debt.
          const unspent = original.releaseAt !== null ? original.remaining : Math.min(original.remaining, Math.max(model.available, 0));
          if (amount > unspent) {
            expect([res.status, res.body.code], label).toEqual([422, "insufficient_points"]);
            break;
          }
          expect(res.status, label).toBe(201);
          original.reversed += amount;
          if (original.releaseAt !== null) {
            model.pending -= amount;
            original.remaining -= amount;
          } else {
            model.available -= amount;
            model.follow({ first: original });
          }
        } else {
          expect(res.status, label).toBe(201);
          original.refunded += amount;
          model.available += amount;
          model.follow({ source: original.spent });
        }
        break;
      }
      case "release": {
        clock += 2 * 3_600_000;
        await runScheduledJobs({ config: h.config, db: () => h.db.handle.db, now: () => new Date(clock) }, new Date(clock));
        model.settle(clock);
        model.expireLots(clock);
        break;
      }
      case "wait": {
        // At most 600 days between expiries: lots are good for 24 months, and the model expires
        // them only all at once (the expire step).
        const days = Math.min(o.days, 600 - waited);
        waited += days;
        clock += days * 86_400_000 + 3_600_000;
        await runScheduledJobs({ config: h.config, db: () => h.db.handle.db, now: () => new Date(clock) }, new Date(clock));
        model.settle(clock);
        model.expireLots(clock);
        break;
      }
      case "expire": {
        clock += 25 * 31 * 86_400_000;
        await runScheduledJobs({ config: h.config, db: () => h.db.handle.db, now: () => new Date(clock) }, new Date(clock));
        model.settle(clock);
        // Every lot is past its date: whatever is available expires (a reversal never leaves a debt).
        waited = 0;
        expect(model.available, label).toBeGreaterThanOrEqual(0);
        model.expireLots(clock);
        break;
      }
    }
    await expectBalance(label);
    expect(await h.verify(), label).toEqual([]);
  }
}

describe("the ledger against a reference model", () => {
  it("agrees after every step of random sequences", async () => {
    const seed = Number(process.env.FC_SEED ?? 20261123);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => run(ops)),
      { seed, path: process.env.FC_PATH, numRuns: Number(process.env.FC_RUNS ?? 25), endOnFailure: true },
    );
  });
});
