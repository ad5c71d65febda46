/**
 * Member-to-member transfers through the API, as partners call it: the recipient's partner asks
 * for a receive code, the sender's partner sends with it. Transferred points keep their issuer,
 * locked prices and expiry (lots move with their lineage). Refusals write nothing; a stranger
 * partner can neither see nor act. Every scenario ends with every ledger invariant checked.
 * The one-code race runs on Postgres over 40 connections.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "drizzle-orm";
import { PartnerClient } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/client.js";
import { createNodeApp } from "../../src/entry/node.js";
import { checkAnswersAgainstDocument } from "../support/contract-check.js";
import { BASE_URL, clientAtClock, createHarness, type Harness, type TestPartner } from "../support/harness.js";

const onServer = inject("dbMode") === "pg";
let h: Harness;
let sender: TestPartner; // the sender's brand
let receiver: TestPartner; // the recipient's brand
let stranger: TestPartner;
let n = 0;

interface Txn {
  transaction_id: string;
  type: string;
  partner_id: string | null;
  member_id: string;
  points: number;
  original_transaction_id?: string;
}
interface TransferAnswer {
  transfer_id: string;
  points: number;
  transaction: Txn;
  balance: { available: number; pending: number; held: number };
  code?: string;
  detail?: string;
}

beforeAll(async () => {
  // A small daily limit, so the limit is reachable in a test.
  h = await createHarness({ MEMBER_TRANSFER_DAILY_POINTS: "3000" });
  sender = await h.partner({ earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  receiver = await h.partner({ category: "retail" });
  stranger = await h.partner();
});
afterEach(async () => expect(await h.verify()).toEqual([]));
afterAll(() => h.close());

const rows = async <T>(q: ReturnType<typeof sql>) => ((await h.db.handle.db.execute(q)) as unknown as { rows: T[] }).rows;
const enrol = async (p: TestPartner, points = 0) => {
  const { member_id } = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `t-${++n}` });
  if (points > 0) await p.client.call("POST", "/v1/earn", { member: member_id, amount_minor: points * 100, currency: "EUR", reference: `seed-${n}` });
  return member_id;
};
const receiveCode = (p: TestPartner, member: string) => p.client.call<{ code: string; expires_at: string }>("POST", `/v1/members/${member}/receive-codes`, {});
const transfer = (p: TestPartner, member: string, body: Record<string, unknown>, key?: string) =>
  p.client.request<TransferAnswer>("POST", `/v1/members/${member}/transfers`, { reference: `tr-${++n}`, ...body }, key ? { idempotencyKey: key } : undefined);
const balance = async (p: TestPartner, member: string) => (await p.client.call<{ balance: { available: number } }>("GET", `/v1/members/${member}`)).balance.available;

describe("member-to-member transfers", () => {
  it("moves points with their lineage: the sender's transfer_out, the recipient's transfer_in, lots that keep issuer, prices and expiry", async () => {
    const from = await enrol(sender, 1_000);
    const to = await enrol(receiver);
    const { code, expires_at } = await receiveCode(receiver, to);
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(14 * 60_000);
    // Typed as a member would read it out: lower case, no dashes.
    const body = { code: code.toLowerCase().replace(/-/g, ""), points: 400, reference: "gift-1" };
    const sent = await transfer(sender, from, body, "send-400");
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ points: 400, balance: { available: 600 }, transaction: { type: "transfer_out", partner_id: sender.id, member_id: from, points: 400 } });
    expect(sent.body.transfer_id).toMatch(/^trf_[0-9a-z]{26}$/);
    expect(await balance(receiver, to)).toBe(400);

    // A retry with the same key is the same answer, once.
    const again = await transfer(sender, from, { ...body, code }, "send-400");
    expect(again.status).toBe(409); // same key, different body (the code's spelling differs): refused
    const replay = await transfer(sender, from, body, "send-400");
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.transfer_id).toBe(sent.body.transfer_id);
    expect(await balance(receiver, to)).toBe(400);

    // The recipient's brand sees the transfer_in (no partner posted it); the sender's sees its transfer_out.
    const theirs = await receiver.client.call<{ data: Txn[] }>("GET", `/v1/transactions?member=${to}`);
    expect(theirs.data).toEqual([expect.objectContaining({ type: "transfer_in", partner_id: null, member_id: to, points: 400, original_transaction_id: sent.body.transaction.transaction_id })]);
    const inId = theirs.data[0]!.transaction_id;
    expect((await receiver.client.request("GET", `/v1/transactions/${inId}`)).status).toBe(200);
    expect((await sender.client.request("GET", `/v1/transactions/${inId}`)).status).toBe(404); // the recipient is not its member
    expect((await stranger.client.call<{ data: Txn[] }>("GET", "/v1/transactions")).data).toEqual([]);

    // The recipient's lot carries the earn's issuer, locked price and expiry.
    const [earnLot] = await rows<{ id: string; expires_at: string }>(sql`select id, expires_at::text from lots where member_id = ${from}`);
    const lots = await rows<{ origin_id: string; partner_id: string; points: string; expires_at: string }>(
      sql`select origin_id, partner_id, points::text, expires_at::text from lots where member_id = ${to}`,
    );
    expect(lots).toEqual([{ origin_id: earnLot!.id, partner_id: sender.id, points: "400", expires_at: earnLot!.expires_at }]);

    // The brand that asked for the code learns it was used; nothing goes to anyone else.
    const events = await rows<{ partner_id: string; data: Record<string, unknown> }>(sql`select partner_id, data from events where type = 'transfer.received'`);
    expect(events).toEqual([{ partner_id: receiver.id, data: expect.objectContaining({ transfer_id: sent.body.transfer_id, member_id: to, points: 400, transaction_id: inId }) }]);
  });

  it("refuses a used, unknown, expired or own code, more than the member has, or over the daily limit, writing nothing", async () => {
    const from = await enrol(sender, 5_000);
    const to = await enrol(receiver);
    const used = await receiveCode(receiver, to);
    expect((await transfer(sender, from, { code: used.code, points: 10 })).status).toBe(201);
    const own = await receiveCode(sender, from);
    let clock = Date.now();
    const later = clientAtClock(h, receiver, () => clock);
    const stale = await later.call<{ code: string }>("POST", `/v1/members/${to}/receive-codes`, {});
    clock = Date.now() - 16 * 60_000; // made 16 minutes ago: expired now
    const expired = await later.call<{ code: string }>("POST", `/v1/members/${to}/receive-codes`, {});
    expect(stale.code).not.toBe(expired.code);

    const poor = await enrol(sender, 50);
    const before = await h.rowCounts();
    for (const code of [used.code, "ABCD-EFGH-JKMN", expired.code, own.code]) {
      const r = await transfer(sender, from, { code, points: 10 });
      expect([r.status, r.body.code]).toEqual([422, "receive_code_invalid"]);
    }
    const fresh = await receiveCode(receiver, to);
    const short = await transfer(sender, poor, { code: fresh.code, points: 51 });
    expect([short.status, short.body.code]).toEqual([422, "insufficient_points"]);
    // 10 sent today, 3,000 a day: 2,991 is one too many.
    const over = await transfer(sender, from, { code: fresh.code, points: 2_991 });
    expect([over.status, over.body.code]).toEqual([422, "transfer_limit_reached"]);
    expect(over.body.detail).toContain("at most 2990 more");
    const after = await h.rowCounts();
    // Refusals are stored under their keys (and spend their tokens); nothing else moved.
    for (const table of ["postings", "entries", "lots", "events", "members"] as const) expect(after[table]).toBe(before[table]);
    // The code survived the refusals: the exact remainder goes through with it.
    expect((await transfer(sender, from, { code: fresh.code, points: 2_990 })).status).toBe(201);
    expect(await balance(receiver, to)).toBe(3_000);
  });

  it("validates the body before acting, and a stranger can neither send for nor ask codes for members not linked to it", async () => {
    const from = await enrol(sender, 100);
    const to = await enrol(receiver);
    const { code } = await receiveCode(receiver, to);
    for (const body of [{ code, points: 0 }, { code, points: 1.5 }, { code, points: 10, partner_id: sender.id }, { points: 10 }, { code: "", points: 10 }]) {
      const r = await transfer(sender, from, body);
      expect([r.status, r.body.code]).toEqual([422, "validation_failed"]);
    }
    const noKey = await sender.client.request<{ code: string }>("POST", `/v1/members/${from}/transfers`, { code, points: 10, reference: "x" }, { headers: { "idempotency-key": "" } });
    expect([noKey.status, noKey.body.code]).toEqual([422, "idempotency_key_required"]);
    const asStranger = await transfer(stranger, from, { code, points: 10 });
    expect([asStranger.status, asStranger.body.code]).toEqual([404, "member_not_found"]);
    const strangerCode = await stranger.client.request<{ code: string }>("POST", `/v1/members/${to}/receive-codes`, {});
    expect([strangerCode.status, strangerCode.body.code]).toEqual([404, "member_not_found"]);
    // The code still works for its real use.
    expect((await transfer(sender, from, { code, points: 100 })).status).toBe(201);
    expect(await balance(sender, from)).toBe(0);
  });

  it.skipIf(!onServer)("one receive code under 200 concurrent transfers over 40 connections makes exactly one transfer", async () => {
    const from = await enrol(sender, 2_000);
    const to = await enrol(receiver);
    const { code } = await receiveCode(receiver, to);
    const wide = await openDatabase({ kind: "pg", url: h.db.url!, max: 40 });
    try {
      const app = checkAnswersAgainstDocument(createNodeApp(h.config, wide));
      const client = new PartnerClient({ baseUrl: BASE_URL, issuer: sender.id, privateJwk: sender.privateJwk, fetch: async (i, init) => app.request(i, init) });
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) => client.request<{ code?: string }>("POST", `/v1/members/${from}/transfers`, { code, points: 5, reference: `race-${i}` })),
      );
      const byOutcome: Record<string, number> = {};
      for (const a of answers) byOutcome[`${a.status} ${a.body.code ?? ""}`.trim()] = (byOutcome[`${a.status} ${a.body.code ?? ""}`.trim()] ?? 0) + 1;
      expect(byOutcome).toEqual({ "201": 1, "422 receive_code_invalid": 199 });
      expect(await balance(receiver, to)).toBe(5);
      expect(await balance(sender, from)).toBe(1_995);
      expect((await rows<{ n: number }>(sql`select count(*)::int as n from transfers where recipient_id = ${to}`))[0]!.n).toBe(1);
    } finally {
      await wide.close();
    }
  });
});
