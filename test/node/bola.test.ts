/**
 * Cross-partner access (BOLA): for every read endpoint, partner B asking for partner A's
 * resource gets exactly the answer it gets for a resource that does not exist.
 * Add each new read endpoint to READS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartnerClient } from "../../src/client/index.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let a: TestPartner;
let b: TestPartner;
const owned: Record<string, string> = {};

beforeAll(async () => {
  h = await createHarness();
  a = await h.partner();
  b = await h.partner();
  const member = await a.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "a-secret-customer" });
  owned.memberId = member.member_id;
  const earned = await a.client.call<{ transaction: { transaction_id: string } }>("POST", "/v1/earn", {
    member: member.member_id,
    amount_minor: 10_000,
    currency: "EUR",
    reference: "a-private-stay",
  });
  owned.transactionId = earned.transaction.transaction_id;
  // B has its own member too, so B's calls are otherwise well-formed and authorised.
  await b.client.call("POST", "/v1/members", { external_ref: "b-customer" });
});
afterAll(() => h.close());

interface Read {
  name: string;
  /** The path to A's resource, and to one that does not exist. */
  paths: () => { owned: string; missing: string };
}

const READS: Read[] = [
  {
    name: "GET /v1/members/{member} by member id",
    paths: () => ({ owned: `/v1/members/${owned.memberId}`, missing: "/v1/members/mbr_00000000000000000000000000" }),
  },
  {
    name: "GET /v1/members/{member} by A's external_ref",
    paths: () => ({
      owned: `/v1/members/${PartnerClient.memberPath("ext:a-secret-customer")}`,
      missing: `/v1/members/${PartnerClient.memberPath("ext:no-such-customer")}`,
    }),
  },
  {
    name: "GET /v1/transactions/{transaction_id}",
    paths: () => ({ owned: `/v1/transactions/${owned.transactionId}`, missing: "/v1/transactions/txn_00000000000000000000000000" }),
  },
  {
    name: "GET /v1/transactions?member= (A's member)",
    paths: () => ({ owned: `/v1/transactions?member=${owned.memberId}`, missing: "/v1/transactions?member=mbr_00000000000000000000000000" }),
  },
];

const shape = async (res: { status: number; body: unknown }) => {
  const { request_id: _r, ...problem } = res.body as Record<string, unknown>;
  return { status: res.status, problem };
};

describe("partner B cannot tell A's resources from missing ones", () => {
  it.each(READS)("$name", async ({ paths }) => {
    const { owned: ownedPath, missing } = paths();
    const mine = await a.client.request("GET", ownedPath);
    expect(mine.status, "A reads its own resource").toBe(200);
    const theirs = await shape(await b.client.request("GET", ownedPath));
    const nothing = await shape(await b.client.request("GET", missing));
    expect(theirs.status).toBe(404);
    expect(theirs).toEqual(nothing);
  });

  it("B's own transaction list never includes A's postings", async () => {
    const list = await b.client.call<{ data: { transaction_id: string }[] }>("GET", "/v1/transactions?limit=200");
    expect(list.data.map((t) => t.transaction_id)).not.toContain(owned.transactionId);
  });

  it("B cannot reverse A's transaction or touch A's member through postings", async () => {
    const before = await h.rowCounts();
    const rev = await b.client.request("POST", `/v1/transactions/${owned.transactionId}/reversals`, { reference: "steal" });
    expect([rev.status, (rev.body as { code: string }).code]).toEqual([404, "not_found"]);
    for (const [path, body] of [
      ["/v1/earn", { member: owned.memberId, amount_minor: 100, currency: "EUR", reference: "x" }],
      ["/v1/burn", { member: owned.memberId, points: 1, reference: "x" }],
      ["/v1/holds", { member: owned.memberId, points: 1, reference: "x" }],
    ] as const) {
      const res = await b.client.request("POST", path, body);
      expect([path, res.status, (res.body as { code: string }).code]).toEqual([path, 404, "member_not_found"]);
    }
    const after = await h.rowCounts();
    // Refusals are stored against B's idempotency keys and spend B's tokens; A's data is untouched.
    for (const table of ["postings", "entries", "lots", "holds", "members", "member_links"]) expect(after[table]).toBe(before[table]);
  });
});
