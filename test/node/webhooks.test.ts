/**
 * Webhooks against a local receiver that fails the first attempts, times out and answers 500 at
 * random: every event arrives, every signature verifies, none reaches the wrong partner, and a
 * crash between sending and marking leads to redelivery with the same event id.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { verifyWebhook } from "../../src/client/index.js";
import { deliverDueEvents, MAX_ATTEMPTS, PER_PARTNER_IN_FLIGHT } from "../../src/events/deliver.js";
import type { Services } from "../../src/services.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

interface Received {
  path: string;
  body: string;
  signature: string;
  id: string;
}

let h: Harness;
let receiver: Server;
let base = "";
const received: Received[] = [];
const attemptsById = new Map<string, number>();
let seed = 7;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed / 2 ** 31);
const alwaysFail = new Set<string>();

beforeAll(async () => {
  h = await createHarness();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      const id = String(req.headers["coalition-event-id"]);
      const n = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, n);
      const partner = req.url!.split("/").pop()!;
      if (alwaysFail.has(partner) || n <= 2) return res.writeHead(500).end("not yet");
      const roll = rand();
      if (roll < 0.25) return void setTimeout(() => res.writeHead(200).end(), 600); // slower than the timeout
      if (roll < 0.5) return res.writeHead(500).end("flaky");
      received.push({ path: req.url!, body, signature: String(req.headers["coalition-signature"]), id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await h.close();
});

const services = (at: number): Services => ({ config: h.config, db: () => h.db.handle.db, now: () => new Date(at) });
const hooked = (extra: Record<string, unknown> = {}) =>
  h.partner({ ...extra }).then(async (p) => {
    await h.staff("admin").updatePartner(p.id, { webhook_url: `${base}/hooks/${p.id}` });
    return p;
  });

async function drain(from: number, rounds = 60): Promise<number> {
  let clock = from;
  for (let i = 0; i < rounds; i++) {
    await deliverDueEvents(services(clock), new Date(clock), { timeoutMs: 300 });
    const left = (await h.db.handle.db.execute(sql`select count(*)::int as n from events where status in ('pending', 'sending')`)) as unknown as {
      rows: { n: number }[];
    };
    if (left.rows[0]!.n === 0) break;
    clock += 7 * 3_600_000; // past the longest backoff
  }
  return clock;
}

async function jwks() {
  return (await (await h.app.request("/.well-known/jwks.json")).json()) as { keys: [] };
}

describe("webhook delivery", () => {
  let a: TestPartner;
  let b: TestPartner;

  it("delivers every event, at least once, signed, only to the partner it concerns", async () => {
    a = await hooked();
    b = await hooked({ category: "ride_hailing" });
    const quiet = await h.partner(); // no webhook_url: its events are skipped, never sent anywhere
    const members: string[] = [];
    for (let i = 0; i < 4; i++) members.push((await a.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `hook-${i}` })).member_id);
    for (const m of members.slice(0, 2)) {
      const { code } = await a.client.call<{ code: string }>("POST", `/v1/members/${m}/link-codes`, {});
      await b.client.call("POST", "/v1/links", { code, external_ref: `b-${m}` });
    }
    await b.client.call("DELETE", `/v1/members/${members[0]}/link`);
    await quiet.client.call("POST", "/v1/members", { external_ref: "quiet" });
    await a.client.call("POST", "/v1/earn", { member: members[1], amount_minor: 1000, currency: "EUR", reference: "x" });
    await a.client.call("POST", "/v1/earn", { member: members[2], amount_minor: 1000, currency: "EUR", reference: "stay", available_at: new Date(Date.now() + 1_000).toISOString() });
    await b.client.call("POST", "/v1/holds", { member: members[1], points: 10, reference: "lapse", ttl_seconds: 1 });

    // The hold lapses and the job reports it; then delivery runs until nothing is due.
    const { runScheduledJobs } = await import("../../src/jobs/index.js");
    await runScheduledJobs(services(Date.now() + 5_000), new Date(Date.now() + 5_000));
    await drain(Date.now() + 10_000);

    const rows = (await h.db.handle.db.execute(sql`select id, partner_id, type, status from events order by created_at`)) as unknown as {
      rows: { id: string; partner_id: string; type: string; status: string }[];
    };
    const mine = rows.rows.filter((e) => e.partner_id === a.id || e.partner_id === b.id);
    expect(mine.map((e) => e.type).sort()).toEqual(
      ["hold.expired", "member.linked", "member.linked", "member.linked", "member.linked", "member.linked", "member.linked", "member.unlinked", "points.released"].sort(),
    );
    expect(mine.every((e) => e.status === "delivered")).toBe(true);
    expect(rows.rows.filter((e) => e.partner_id === quiet.id).every((e) => e.status === "skipped")).toBe(true);

    const keys = await jwks();
    const seen = new Set<string>();
    for (const r of received) {
      const partner = r.path.split("/").pop()!;
      // Delivery ran on a clock days ahead; the signature's own time window is checked in the client's tests.
      const event = await verifyWebhook({ body: r.body, signature: r.signature, jwks: keys, partnerId: partner, clockToleranceSeconds: 10 ** 9 });
      expect(event.partner_id).toBe(partner);
      expect(rows.rows.find((e) => e.id === event.id)?.partner_id).toBe(partner);
      seen.add(event.id);
      // Signed for this partner only: another partner's verification fails.
      const other = partner === a.id ? b.id : a.id;
      await expect(verifyWebhook({ body: r.body, signature: r.signature, jwks: keys, partnerId: other, clockToleranceSeconds: 10 ** 9 })).rejects.toThrow();
    }
    for (const e of mine) expect(seen.has(e.id), `${e.type} ${e.id} arrived`).toBe(true);
    // A stale signature is refused with the default tolerance, and a tampered body never verifies.
    await expect(verifyWebhook({ body: received[0]!.body, signature: received[0]!.signature, jwks: keys, partnerId: received[0]!.path.split("/").pop()! })).rejects.toThrow(/validity/);
    const sample = received[0]!;
    await expect(
      verifyWebhook({ body: sample.body.replace("member", "membre"), signature: sample.signature, jwks: keys, partnerId: sample.path.split("/").pop()!, clockToleranceSeconds: 10 ** 9 }),
    ).rejects.toThrow(/body/);
  });

  it("a crash between sending and marking sent redelivers the same event id", async () => {
    const p = await hooked();
    await p.client.call("POST", "/v1/members", { external_ref: "crash" });
    const [event] = ((await h.db.handle.db.execute(sql`select id from events where partner_id = ${p.id}`)) as unknown as { rows: { id: string }[] }).rows;
    attemptsById.set(event!.id, 2); // the receiver accepts from the next attempt on
    seed = 1; // and this roll accepts
    const before = received.filter((r) => r.id === event!.id).length;
    const t0 = Date.now() + 1_000;
    await expect(
      deliverDueEvents(services(t0), new Date(t0), {
        timeoutMs: 2_000,
        afterSend: () => {
          throw new Error("process killed");
        },
      }),
    ).rejects.toThrow("process killed");
    const status = (await h.db.handle.db.execute(sql`select status from events where id = ${event!.id}`)) as unknown as { rows: { status: string }[] };
    expect(status.rows[0]!.status).toBe("sending");
    await drain(t0 + 61_000); // the lease lapses; the job sends it again
    const deliveries = received.filter((r) => r.id === event!.id).length - before;
    expect(deliveries).toBeGreaterThanOrEqual(2);
    const final = (await h.db.handle.db.execute(sql`select status from events where id = ${event!.id}`)) as unknown as { rows: { status: string }[] };
    expect(final.rows[0]!.status).toBe("delivered");
  });

  it("gives up after the bounded schedule (about 3 days) into a dead letter that admins can list and redeliver", async () => {
    const p = await hooked();
    alwaysFail.add(p.id);
    await p.client.call("POST", "/v1/members", { external_ref: "doomed" });
    const start = Date.now() + 1_000;
    let clock = start;
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) {
      await deliverDueEvents(services(clock), new Date(clock), { timeoutMs: 300 });
      const [row] = ((await h.db.handle.db.execute(sql`select status, next_attempt_at from events where partner_id = ${p.id}`)) as unknown as {
        rows: { status: string; next_attempt_at: string }[];
      }).rows;
      if (row!.status === "dead") break;
      clock = new Date(row!.next_attempt_at).getTime();
    }
    const span = (clock - start) / 86_400_000;
    expect(span).toBeGreaterThan(2);
    expect(span).toBeLessThan(4.5);
    const dead = await h.staff("admin").call<{ data: { event_id: string; attempts: number; last_error: string }[] }>("GET", `/v1/admin/webhooks/dead?partner_id=${p.id}`);
    expect(dead.data).toHaveLength(1);
    expect(dead.data[0]).toMatchObject({ attempts: MAX_ATTEMPTS, last_error: "HTTP 500" });
    alwaysFail.delete(p.id);
    const again = await h.staff("admin").call<{ status: string }>("POST", `/v1/admin/webhooks/${dead.data[0]!.event_id}/redeliver`);
    expect(again.status).toBe("pending");
    await drain(Date.now() + 2_000);
    const [row] = ((await h.db.handle.db.execute(sql`select status from events where partner_id = ${p.id}`)) as unknown as { rows: { status: string }[] }).rows;
    expect(row!.status).toBe("delivered");
  });
});

describe("webhook delivery under a backlog", () => {
  it("drains a backlog in one run, and a receiver that never answers holds only its own lanes", async () => {
    // One receiver hangs on every request (until the sender's timeout); another answers at once.
    let hangingNow = 0;
    let hangingMax = 0;
    const hanging = createServer((req) => {
      hangingNow++;
      hangingMax = Math.max(hangingMax, hangingNow);
      req.on("close", () => hangingNow--);
    });
    const healthyIds = new Set<string>();
    const healthy = createServer((req, res) => {
      healthyIds.add(String(req.headers["coalition-event-id"]));
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => healthy.listen(0, "127.0.0.1", r));
    try {
      const slow = await h.partner();
      const fine = await h.partner();
      const port = (s: Server) => (s.address() as AddressInfo).port;
      await h.staff("admin").updatePartner(slow.id, { webhook_url: `http://127.0.0.1:${port(hanging)}/hook` });
      await h.staff("admin").updatePartner(fine.id, { webhook_url: `http://127.0.0.1:${port(healthy)}/hook` });
      const t0 = Date.now() + 1_000;
      const queue = (partner: string, prefix: string, n: number, at: number) =>
        h.db.handle.db.execute(sql`
          insert into events (id, partner_id, type, data, created_at, next_attempt_at)
          select ${prefix} || g, ${partner}, 'ping', '{}'::jsonb, ${new Date(at).toISOString()}::timestamptz, ${new Date(at).toISOString()}::timestamptz
            from generate_series(1, ${n}) g`);
      // The slow partner's backlog is older, so it is due first; the healthy partner's is larger
      // than one old batch (50), and a fresh member.linked comes last.
      await queue(slow.id, "evt_slow_", 12, t0 - 500);
      await queue(fine.id, "evt_fine_", 150, t0 - 100);
      await fine.client.call("POST", "/v1/members", { external_ref: "fresh-after-backlog" });

      // A timeout a healthy receiver always beats, even on a loaded machine (500 ms was not: 55 of 151 went out).
      const delivered = await deliverDueEvents(services(t0 + 1_000), new Date(t0 + 1_000), { timeoutMs: 3_000, runBudgetMs: 120_000 });
      expect(delivered).toBe(151);
      const fineLeft = (await h.db.handle.db.execute(sql`select count(*)::int as n from events where partner_id = ${fine.id} and status <> 'delivered'`)) as unknown as {
        rows: { n: number }[];
      };
      expect(fineLeft.rows[0]!.n, "every healthy event went out in the one run").toBe(0);
      expect(healthyIds.size).toBe(151);
      expect(hangingMax, "the hanging receiver never had more than its share of lanes").toBeLessThanOrEqual(PER_PARTNER_IN_FLIGHT);
      const slowRows = (await h.db.handle.db.execute(sql`select count(*)::int as n from events where partner_id = ${slow.id} and status = 'pending' and attempts = 1`)) as unknown as {
        rows: { n: number }[];
      };
      expect(slowRows.rows[0]!.n, "each slow event was tried once and rescheduled").toBe(12);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((r) => hanging.close(() => r()));
      await new Promise<void>((r) => healthy.close(() => r()));
    }
  });
});
