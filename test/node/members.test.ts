import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, sql } from "drizzle-orm";
import { PartnerClient } from "../../src/client/index.js";
import { createNodeApp } from "../../src/entry/node.js";
import { memberLinks } from "../../src/db/schema/index.js";
import { BASE_URL, createHarness, type Harness, type TestPartner } from "../support/harness.js";

let h: Harness;
let a: TestPartner;
let b: TestPartner;
let c: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  [a, b, c] = [await h.partner(), await h.partner({ category: "ride_hailing" }), await h.partner({ category: "retail" })];
});
afterAll(() => h.close());

type Member = { member_id: string; external_ref: string; tier: string; balance: { available: number; pending: number; held: number } };
const code = (res: { body: unknown }) => (res.body as { code?: string }).code;
const ext = (ref: string) => `/v1/members/${PartnerClient.memberPath(`ext:${ref}`)}`;

describe("enrolment", () => {
  it("creates a member with a zero balance, then answers 200 with the same member", async () => {
    const first = await a.client.request<Member>("POST", "/v1/members", { external_ref: "alice" });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ external_ref: "alice", tier: "blue", balance: { available: 0, pending: 0, held: 0 } });
    expect(first.body.member_id).toMatch(/^mbr_[0-9a-z]{26}$/);
    const second = await a.client.request<Member>("POST", "/v1/members", { external_ref: "alice" });
    expect(second.status).toBe(200);
    expect(second.body.member_id).toBe(first.body.member_id);
    const read = await a.client.call<Member>("GET", ext("alice"));
    expect(read).toEqual(first.body);
    expect(await a.client.call<Member>("GET", `/v1/members/${first.body.member_id}`)).toEqual(first.body);
  });

  it("one customer reference enrolled many times at once makes one member", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => a.client.request<Member>("POST", "/v1/members", { external_ref: "stampede" })));
    expect(new Set(results.map((r) => r.body.member_id)).size).toBe(1);
    expect(results.filter((r) => r.status === 201).length).toBe(1);
    expect(results.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    const orphans = (await h.db.handle.db.execute(
      sql`select count(*)::int as n from members m where not exists (select 1 from member_links l where l.member_id = m.id)`,
    )) as unknown as { rows: { n: number }[] };
    expect(orphans.rows[0]!.n).toBe(0);
  });

  it("validates external_ref and rejects unknown fields", async () => {
    for (const body of [{}, { external_ref: "" }, { external_ref: "x".repeat(129) }, { external_ref: 12 }, { external_ref: "ok", member_id: "mbr_x" }]) {
      const res = await a.client.request("POST", "/v1/members", body);
      expect([res.status, code(res)]).toEqual([422, "validation_failed"]);
    }
  });

  it("the database itself refuses a second active link of one reference, or of one member at one partner", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "constraint-check" });
    const insert = (externalRef: string, memberId: string) =>
      h.db.handle.db.insert(memberLinks).values({ id: `lnk_${Math.random()}`, memberId, partnerId: a.id, externalRef, via: "enrolment" });
    await expect(insert("constraint-check", (await a.client.call<Member>("POST", "/v1/members", { external_ref: "other" })).member_id)).rejects.toThrow();
    await expect(insert("another-ref", m.member_id)).rejects.toThrow();
  });
});

describe("linking across brands", () => {
  it("links a second brand with a single-use code; both see one member, each with only its own reference", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "room-12" });
    const lc = await a.client.call<{ code: string; expires_at: string }>("POST", `${ext("room-12")}/link-codes`, {});
    expect(lc.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect(Date.parse(lc.expires_at) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(Date.parse(lc.expires_at) - Date.now()).toBeLessThanOrEqual(15 * 60_000);

    const linked = await b.client.request("POST", "/v1/links", { code: lc.code.toLowerCase(), external_ref: "rider-9" });
    expect(linked.status).toBe(201);
    expect(linked.body).toEqual({ member_id: m.member_id, external_ref: "rider-9" });

    const seenByB = await b.client.call<Member>("GET", `/v1/members/${m.member_id}`);
    expect(seenByB.external_ref).toBe("rider-9");
    expect(JSON.stringify(seenByB)).not.toContain("room-12");
    expect((await a.client.call<Member>("GET", `/v1/members/${m.member_id}`)).external_ref).toBe("room-12");

    const reused = await c.client.request("POST", "/v1/links", { code: lc.code, external_ref: "shopper-1" });
    expect([reused.status, code(reused)]).toEqual([422, "link_code_invalid"]);
  });

  it("refuses unknown codes, a second customer at the same brand, and a reference taken by another member", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "linker" });
    expect(code(await b.client.request("POST", "/v1/links", { code: "0000-0000-0000", external_ref: "z" }))).toBe("link_code_invalid");
    const lc1 = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    await b.client.call("POST", "/v1/links", { code: lc1.code, external_ref: "b-linker" });
    const lc2 = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    const twice = await b.client.request("POST", "/v1/links", { code: lc2.code, external_ref: "b-linker-2" });
    expect([twice.status, code(twice)]).toEqual([409, "already_linked"]);

    await c.client.call("POST", "/v1/members", { external_ref: "c-taken" });
    const lc3 = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    const taken = await c.client.request("POST", "/v1/links", { code: lc3.code, external_ref: "c-taken" });
    expect([taken.status, code(taken)]).toEqual([409, "external_ref_taken"]);
    // A refused redemption does not spend the code.
    expect((await c.client.request("POST", "/v1/links", { code: lc3.code, external_ref: "c-fresh" })).status).toBe(201);
  });

  it("two partners redeeming one code at once: exactly one wins", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "contested" });
    const lc = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    const [rb, rc] = await Promise.all([
      b.client.request("POST", "/v1/links", { code: lc.code, external_ref: "b-contested" }),
      c.client.request("POST", "/v1/links", { code: lc.code, external_ref: "c-contested" }),
    ]);
    expect([rb.status, rc.status].sort()).toEqual([201, 422]);
    expect(code(rb.status === 422 ? rb : rc)).toBe("link_code_invalid");
  });

  it("an expired code is refused", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "slowpoke" });
    const lc = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    const later = createNodeApp(h.config, h.db.handle, () => new Date(Date.now() + 16 * 60_000));
    const lateClient = new PartnerClient({ baseUrl: BASE_URL, issuer: b.id, privateJwk: b.privateJwk, fetch: async (i, init) => later.request(i, init), clock: () => Math.floor(Date.now() / 1000) + 16 * 60 });
    const res = await lateClient.request("POST", "/v1/links", { code: lc.code, external_ref: "late" });
    expect([res.status, code(res)]).toEqual([422, "link_code_invalid"]);
  });

  it("unlinking hides the member from that brand only; the balance stays with the member", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "leaver" });
    const lc = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    await b.client.call("POST", "/v1/links", { code: lc.code, external_ref: "b-leaver" });
    const del = await b.client.request("DELETE", `/v1/members/${m.member_id}/link`);
    expect(del.status).toBe(204);
    expect(code(await b.client.request("GET", `/v1/members/${m.member_id}`))).toBe("member_not_found");
    expect(code(await b.client.request("DELETE", `/v1/members/${m.member_id}/link`))).toBe("member_not_found");
    expect((await a.client.call<Member>("GET", `/v1/members/${m.member_id}`)).member_id).toBe(m.member_id);
    // B may enrol the same customer again later: a new member, since the link is gone.
    const again = await b.client.call<Member>("POST", "/v1/members", { external_ref: "b-leaver" });
    expect(again.member_id).not.toBe(m.member_id);
  });

  it("a partner cannot make codes or portal URLs for members it is not linked to", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "private" });
    for (const path of [`/v1/members/${m.member_id}/link-codes`, `/v1/members/${m.member_id}/portal-sessions`]) {
      const res = await b.client.request("POST", path, {});
      expect([res.status, code(res)]).toEqual([404, "member_not_found"]);
    }
  });
});

describe("erasure", () => {
  it("pseudonymises a member: references gone, links ended, balance row intact; repeatable", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "forget-me" });
    const lc = await a.client.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    await b.client.call("POST", "/v1/links", { code: lc.code, external_ref: "b-forget-me" });
    const portal = await a.client.call<{ url: string }>("POST", `/v1/members/${m.member_id}/portal-sessions`, {});
    // An account number in another programme, given for a transfer reward, is personal data too.
    await a.client.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 10_000, currency: "EUR", reference: "forget-earn" });
    const miles = await h.staff("admin").call<{ reward_id: string }>("POST", "/v1/admin/rewards", {
      supplier_id: b.id, kind: "transfer", name: "Miles", points: 10, supplier_price: "0.1", transfer: { program: "Sky", units_per_unit: 10 },
    });
    const transfer = await a.client.call<{ redemption_id: string }>("POST", "/v1/redemptions", { member: m.member_id, reward_id: miles.reward_id, transfer_account: "SKY-PERSONAL-1", reference: "t" });

    const erased = await h.staff("admin").request("POST", `/v1/admin/members/${m.member_id}/erasure`);
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ member_id: m.member_id, status: "erased", links_removed: 2 });
    const again = await h.staff("admin").request("POST", `/v1/admin/members/${m.member_id}/erasure`);
    expect(again.body).toMatchObject({ status: "erased", links_removed: 0 });

    for (const p of [a, b]) expect(code(await p.client.request("GET", `/v1/members/${m.member_id}`))).toBe("member_not_found");
    const refs = await h.db.handle.db.select({ ref: memberLinks.externalRef }).from(memberLinks).where(eq(memberLinks.memberId, m.member_id));
    expect(refs).toEqual([{ ref: null }, { ref: null }]);
    const kept = await b.client.call<{ transfer_account?: string; points: number }>("GET", `/v1/redemptions/${transfer.redemption_id}`);
    expect(kept.transfer_account).toBeUndefined();
    expect(kept.points).toBe(10);
    expect((await h.app.request(portal.url.replace(/^https?:\/\/[^/]+/, ""))).status).toBe(410);
    // The customer can join again as a new member.
    expect((await a.client.call<Member>("POST", "/v1/members", { external_ref: "forget-me" })).member_id).not.toBe(m.member_id);
    expect((await h.staff("admin").request("POST", "/v1/admin/members/mbr_00000000000000000000000000/erasure")).status).toBe(404);
    expect((await a.client.request("POST", `/v1/admin/members/${m.member_id}/erasure`)).status).toBe(403);
  });
});

describe("member portal", () => {
  async function openPortal(partner: TestPartner, ref: string, app = h.app) {
    const { url, expires_at } = await partner.client.call<{ url: string; expires_at: string }>("POST", `${ext(ref)}/portal-sessions`, {});
    expect(url.startsWith(`${BASE_URL}/portal/login/`)).toBe(true);
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now());
    const path = new URL(url).pathname;
    const page = await app.request(path);
    expect(page.status).toBe(200);
    const token = path.split("/").pop()!;
    const login = await app.request("/portal/login", { method: "POST", body: new URLSearchParams({ token }) });
    return { path, token, login };
  }
  const cookieOf = (res: Response) => res.headers.get("set-cookie")!.split(";")[0]!;
  const csrfOf = (html: string) => /name="csrf" value="([0-9a-f]{64})"/.exec(html)![1]!;

  it("a one-time URL starts a short HttpOnly session that shows balance, tier and brands; it cannot be used twice", async () => {
    await a.client.call("POST", "/v1/members", { external_ref: "portal-1" });
    const { token, login } = await openPortal(a, "portal-1");
    expect(login.status).toBe(303);
    const setCookie = login.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Max-Age=900/);
    const page = await h.app.request("/portal", { headers: { cookie: cookieOf(login) } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('data-testid="available">0<');
    expect(html).toContain(a.doc.name);
    expect(html).not.toContain("portal-1"); // partners' customer references are not shown

    const second = await h.app.request("/portal/login", { method: "POST", body: new URLSearchParams({ token }) });
    expect(second.status).toBe(410);
    expect((await h.app.request(`/portal/login/${token}`)).status).toBe(410);
  });

  it("lets the member create a link code and unlink a brand, with same-origin forms only", async () => {
    const m = await a.client.call<Member>("POST", "/v1/members", { external_ref: "portal-2" });
    const { login } = await openPortal(a, "portal-2");
    const cookie = cookieOf(login);
    const csrf = csrfOf(await (await h.app.request("/portal", { headers: { cookie } })).text());

    const forged = await h.app.request("/portal/link-codes", { method: "POST", headers: { cookie, origin: "https://evil.example" }, body: new URLSearchParams({ csrf }) });
    expect(forged.status).toBe(403);
    const noToken = await h.app.request("/portal/link-codes", { method: "POST", headers: { cookie }, body: new URLSearchParams({}) });
    expect(noToken.status).toBe(403);

    const made = await h.app.request(`${BASE_URL}/portal/link-codes`, { method: "POST", headers: { cookie, origin: BASE_URL }, body: new URLSearchParams({ csrf }) });
    expect(made.status).toBe(200);
    const linkCode = /data-testid="link-code">([0-9A-Z-]{14})</.exec(await made.text())![1]!;
    await b.client.call("POST", "/v1/links", { code: linkCode, external_ref: "b-portal-2" });
    expect(await (await h.app.request("/portal", { headers: { cookie } })).text()).toContain(b.doc.name);

    const unlinked = await h.app.request(`${BASE_URL}/portal/unlink`, { method: "POST", headers: { cookie, origin: BASE_URL }, body: new URLSearchParams({ csrf, partner_id: b.id }) });
    expect(unlinked.status).toBe(200);
    expect(await unlinked.text()).not.toContain(b.doc.name);
    expect(code(await b.client.request("GET", `/v1/members/${m.member_id}`))).toBe("member_not_found");
  });

  it("sessions expire after 15 minutes and end on sign-out", async () => {
    await a.client.call("POST", "/v1/members", { external_ref: "portal-3" });
    const { login } = await openPortal(a, "portal-3");
    const cookie = cookieOf(login);
    const later = createNodeApp(h.config, h.db.handle, () => new Date(Date.now() + 16 * 60_000));
    expect((await later.request("/portal", { headers: { cookie } })).status).toBe(401);
    const page = await h.app.request("/portal", { headers: { cookie } });
    const csrf = csrfOf(await page.text());
    const out = await h.app.request("/portal/logout", { method: "POST", headers: { cookie }, body: new URLSearchParams({ csrf }) });
    expect(out.status).toBe(200);
    expect((await h.app.request("/portal", { headers: { cookie } })).status).toBe(401);
    expect((await h.app.request("/portal", { headers: { cookie: "coalesce_portal=forged-session-value-123456" } })).status).toBe(401);
  });
});
