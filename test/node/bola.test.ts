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
});
