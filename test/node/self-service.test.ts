/**
 * Partner self-service through the API: a partner rotates its own keys (at most 10 active; the
 * key that signed a request cannot revoke itself), sets its webhook URL under the admin API's
 * rules, queues a test ping that is delivered and verifies, and reads its deliveries. It never
 * sees or changes another partner's keys, webhook or deliveries.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchJwks, PartnerClient, verifyWebhook } from "../../src/client/index.js";
import { deliverDueEvents } from "../../src/events/deliver.js";
import { BASE_URL, createHarness, newKeyPair, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let a: TestPartner;
let b: TestPartner;
let receiver: Server;
let hookUrl = "";
const received: { body: string; signature: string }[] = [];

beforeAll(async () => {
  h = await createHarness();
  a = await h.partner();
  b = await h.partner();
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ body: Buffer.concat(chunks).toString(), signature: String(req.headers["coalition-signature"]) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  await new Promise<void>((r) => receiver.close(() => r()));
  await h.close();
});

interface Key {
  kid: string;
  alg: string;
  status: string;
  revoked_at: string | null;
}
const clientWith = (p: TestPartner, privateJwk: Record<string, unknown>) =>
  new PartnerClient({ baseUrl: BASE_URL, issuer: p.id, privateJwk: privateJwk as never, fetch: h.fetch });

describe("partner self-service", () => {
  it("rotates its own keys: add one, sign with it, revoke the old one; never the signing key, never another partner's", async () => {
    const mine = await a.client.call<{ data: Key[] }>("GET", "/v1/keys");
    expect(mine.data).toEqual([expect.objectContaining({ kid: a.privateJwk.kid, alg: "ES256", status: "active", revoked_at: null })]);
    expect(JSON.stringify(mine)).not.toMatch(/"x"|"y"|"d"/); // public parts only: no key material either

    const next = await newKeyPair(`${a.id}-k2`, "EdDSA");
    const added = await a.client.request<Key>("POST", "/v1/keys", { jwk: next.publicJwk });
    expect([added.status, added.body.kid, added.body.status]).toEqual([201, `${a.id}-k2`, "active"]);
    const rotated = clientWith(a, next.privateJwk);
    expect((await rotated.request("GET", "/v1/keys")).status).toBe(200);

    // The key that signed the request cannot revoke itself…
    const self = await rotated.request<{ code: string; errors: { path: string }[] }>("DELETE", `/v1/keys/${encodeURIComponent(next.privateJwk.kid)}`);
    expect([self.status, self.body.code, self.body.errors[0]!.path]).toEqual([422, "validation_failed", "kid"]);
    // …another of its keys can, and that key stops at once.
    expect((await rotated.request("DELETE", `/v1/keys/${encodeURIComponent(a.privateJwk.kid)}`)).status).toBe(204);
    const old = await a.client.request<{ code: string }>("GET", "/v1/keys");
    expect([old.status, old.body.code]).toEqual([401, "unknown_key"]);
    expect((await rotated.call<{ data: Key[] }>("GET", "/v1/keys")).data.map((k) => [k.kid, k.status])).toEqual([
      [a.privateJwk.kid, "revoked"],
      [next.privateJwk.kid, "active"],
    ]);
    // A kid is never reused; private key material is refused as such.
    const reuse = await rotated.request<{ code: string }>("POST", "/v1/keys", { jwk: next.publicJwk });
    expect([reuse.status, reuse.body.code]).toEqual([409, "already_exists"]);
    const leaked = await rotated.request<{ code: string; errors: { message: string }[] }>("POST", "/v1/keys", { jwk: next.privateJwk });
    expect([leaked.status, leaked.body.code]).toEqual([422, "validation_failed"]);
    expect(JSON.stringify(leaked.body.errors)).toContain("private key material");

    // Another partner neither sees nor revokes A's keys: A's kid is "not found" to B, like a missing one.
    expect((await b.client.call<{ data: Key[] }>("GET", "/v1/keys")).data.map((k) => k.kid)).toEqual([b.privateJwk.kid]);
    const cross = await b.client.request<{ code: string }>("DELETE", `/v1/keys/${encodeURIComponent(next.privateJwk.kid)}`);
    const missing = await b.client.request<{ code: string }>("DELETE", "/v1/keys/no-such-kid");
    expect([cross.status, cross.body.code]).toEqual([404, "not_found"]);
    expect([missing.status, missing.body.code]).toEqual([404, "not_found"]);
    expect((await rotated.request("GET", "/v1/keys")).status).toBe(200);
  });

  it("keeps at most 10 keys active at once", async () => {
    const p = await h.partner();
    for (let i = 2; i <= 10; i++) {
      const { publicJwk } = await newKeyPair(`${p.id}-k${i}`);
      expect((await p.client.request("POST", "/v1/keys", { jwk: publicJwk })).status).toBe(201);
    }
    const { publicJwk } = await newKeyPair(`${p.id}-k11`);
    const eleventh = await p.client.request<{ code: string; detail: string }>("POST", "/v1/keys", { jwk: publicJwk });
    expect([eleventh.status, eleventh.body.code]).toEqual([422, "validation_failed"]);
    expect(eleventh.body.detail).toContain("At most 10");
    expect((await p.client.request("DELETE", `/v1/keys/${p.id}-k2`)).status).toBe(204);
    expect((await p.client.request("POST", "/v1/keys", { jwk: publicJwk }, { idempotencyKey: "k11-again" })).status).toBe(201);
  });

  it("sets its webhook URL under the admin API's rules, pings it (delivered and verified), and lists only its own deliveries", async () => {
    const c = await h.partner();
    for (const url of ["https://10.0.0.1/hook", "https://localhost/hook", "ftp://example.com/x", "https://user:pw@example.com/x"]) {
      const bad = await c.client.request<{ code: string }>("PUT", "/v1/webhook", { url });
      expect([url, bad.status, bad.body.code]).toEqual([url, 422, "validation_failed"]);
    }
    const none = await c.client.request<{ code: string }>("POST", "/v1/webhook/test", {});
    expect([none.status, none.body.code]).toEqual([422, "validation_failed"]); // no URL to ping yet

    const set = await b.client.request<{ url: string }>("PUT", "/v1/webhook", { url: hookUrl });
    expect([set.status, set.body.url]).toEqual([200, hookUrl]);
    const viaAdmin = await h.staff("admin").call<{ webhook_url?: string }>("PATCH", `/v1/admin/partners/${b.id}`, { name: "Partner B" });
    expect(viaAdmin.webhook_url).toBe(hookUrl); // the same field the admin API shows
    const other = await h.staff("admin").call<{ webhook_url?: string }>("PATCH", `/v1/admin/partners/${c.id}`, { name: "Partner C" });
    expect(other.webhook_url).toBeUndefined(); // B's change is B's alone

    const ping = await b.client.request<{ event_id: string; type: string; status: string }>("POST", "/v1/webhook/test", {});
    expect([ping.status, ping.body.type, ping.body.status]).toEqual([202, "ping", "pending"]);
    const now = Date.now();
    await deliverDueEvents({ config: h.config, db: () => h.db.handle.db, now: () => new Date(now) }, new Date(now));
    const got = received.find((r) => r.body.includes(ping.body.event_id))!;
    const jwks = await fetchJwks(BASE_URL, (i) => h.fetch(i, {}));
    const event = await verifyWebhook({ body: got.body, signature: got.signature, jwks, partnerId: b.id });
    expect([event.id, event.type]).toEqual([ping.body.event_id, "ping"]);

    const listed = await b.client.call<{ data: { event_id: string; status: string; attempts: number; delivered_at: string | null }[] }>("GET", "/v1/webhook/deliveries?status=delivered");
    expect(listed.data.find((d) => d.event_id === ping.body.event_id)).toMatchObject({ status: "delivered", attempts: 1 });
    const cList = await c.client.call<{ data: { event_id: string }[] }>("GET", "/v1/webhook/deliveries?limit=200");
    expect(cList.data.map((d) => d.event_id)).not.toContain(ping.body.event_id);

    // Paging: one at a time, newest first, to the end.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { event_id: string }[]; next_cursor: string | null } = await b.client.call("GET", `/v1/webhook/deliveries?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.data.map((d) => d.event_id));
      cursor = page.next_cursor;
    } while (cursor && seen.length < 50);
    expect(seen).toContain(ping.body.event_id);
    expect(new Set(seen).size).toBe(seen.length);
    const badCursor = await b.client.request<{ code: string }>("GET", "/v1/webhook/deliveries?cursor=zzz");
    expect([badCursor.status, badCursor.body.code]).toEqual([422, "validation_failed"]);

    // null clears it; the next ping has nowhere to go.
    expect((await b.client.call<{ url: string | null }>("PUT", "/v1/webhook", { url: null })).url).toBeNull();
    expect((await b.client.request("POST", "/v1/webhook/test", {})).status).toBe(422);
  });
});

