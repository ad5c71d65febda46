/**
 * Graceful shutdown of the Node server: requests in flight when it closes finish with their
 * real answer, nothing is half posted, and a client that retries what it never got an answer
 * for (same Idempotency-Key) against the next server ends with every earn exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { PartnerClient, randomId } from "../../src/client/index.js";
import { serveNode } from "../../src/entry/node.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let p: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner({ allow_explicit_points: true });
});
afterAll(() => h.close());

describe("graceful shutdown", () => {
  it("finishes in-flight requests, refuses new ones, and leaves no half posting", async () => {
    const member = (await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "shutdown" })).member_id;
    const server = await serveNode({ config: h.config, handle: h.db.handle, port: 0, jobs: false });
    const client = new PartnerClient({ baseUrl: server.url, issuer: p.id, privateJwk: p.privateJwk });
    const earns = Array.from({ length: 60 }, (_, i) => ({ reference: `sd-${i}`, key: randomId(), points: 1 + i }));
    const send = (c: PartnerClient, e: (typeof earns)[number]) =>
      c.request("POST", "/v1/earn", { member, amount_minor: 100, currency: "EUR", reference: e.reference, points: e.points }, { idempotencyKey: e.key });

    const first = Promise.allSettled(earns.map((e) => send(client, e)));
    // Close while requests are being answered.
    const deadline = Date.now() + 10_000;
    while (server.inFlight() < 1 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    const caught = server.inFlight();
    expect(caught, "requests were in flight when the server closed").toBeGreaterThanOrEqual(1);
    await server.close();
    expect(server.inFlight()).toBe(0);
    // Requests the server had not started yet may be cut (connection reset): the client retries those.
    const outcomes = await first;
    const answered = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [{ i, status: o.value.status }] : []));
    // Every answer given is the real one; the in-flight ones were among them.
    for (const a of answered) expect(a.status, `earn ${a.i}`).toBe(201);
    expect(answered.length).toBeGreaterThanOrEqual(caught);
    await expect(send(client, { reference: "sd-late", key: randomId(), points: 1 }), "a closed server accepts nothing").rejects.toThrow();

    const count = async () =>
      ((await h.db.handle.db.execute(sql`select count(*)::int as n from postings where reference like 'sd-%'`)) as unknown as { rows: { n: number }[] }).rows[0]!.n;
    expect(await count()).toBe(answered.length);

    // The client retries everything on the next server: answered ones replay, the rest post once.
    const next = await serveNode({ config: h.config, handle: h.db.handle, port: 0, jobs: false });
    try {
      const retry = new PartnerClient({ baseUrl: next.url, issuer: p.id, privateJwk: p.privateJwk });
      const again = await Promise.all(earns.map((e) => send(retry, e)));
      const wasAnswered = new Set(answered.map((a) => a.i));
      again.forEach((r, i) => {
        expect(r.status).toBe(201);
        expect(r.replayed, `earn ${i} replayed`).toBe(wasAnswered.has(i));
      });
    } finally {
      await next.close();
    }
    expect(await count()).toBe(earns.length);
    const balance = await p.client.call<{ balance: { available: number } }>("GET", `/v1/members/${member}`);
    expect(balance.balance.available).toBe(earns.reduce((s, e) => s + e.points, 0));
    expect(await h.verify()).toEqual([]);
  });
});
