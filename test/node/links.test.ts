/**
 * Links handed out (member portal, finance sign-in) come from configuration, never from the
 * request's Host header: a forged Host cannot make Coalesce send a member to another site.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartnerClient, StaffClient } from "../../src/client/index.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";
import { request as httpRequest } from "node:http";

/** fetch() cannot forge Host (undici sets it from the URL); node:http sends what it is given. */
const forgedHostFetch =
  (host: string) =>
  (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = httpRequest(new URL(String(input)), { method: init?.method ?? "GET", headers: { ...headers, host } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = res.statusCode === 204 ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status: res.statusCode, headers: res.headers as Record<string, string> }));
        });
      });
      req.on("error", reject);
      const body = init?.body;
      req.end(typeof body === "string" ? body : body instanceof Uint8Array ? Buffer.from(body) : undefined);
    });

let h: Harness;
let p: TestPartner;
beforeAll(async () => {
  h = await createHarness();
  p = await h.partner();
});
afterAll(() => h.close());

const EVIL = "http://evil.example:8443";

describe("links handed out", () => {
  it("use PUBLIC_BASE_URL whatever Host the request carries", async () => {
    // Same app, same keys: only the Host (and so the request URL the app sees) is forged.
    const forged = new PartnerClient({ baseUrl: EVIL, issuer: p.id, privateJwk: p.privateJwk, fetch: h.fetch });
    const m = await forged.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "host-header" });
    const portal = await forged.call<{ url: string }>("POST", `/v1/members/${m.member_id}/portal-sessions`, {});
    expect(portal.url).toMatch(/^http:\/\/coalesce\.test\/portal\/login\//);
    const staff = new StaffClient({ baseUrl: EVIL, privateJwk: h.staffKey.privateJwk, sub: "test-finance", role: "finance", fetch: h.fetch });
    const signIn = await staff.call<{ url: string }>("POST", "/v1/staff/sign-in-links", {});
    expect(signIn.url).toMatch(/^http:\/\/coalesce\.test\/finance\/login\//);
  });

  it("use the Node server's own address when PUBLIC_BASE_URL is unset (development)", async () => {
    const config = { ...h.config, environment: "development" as const, publicBaseUrl: undefined };
    let server: RunningServer | undefined;
    try {
      server = await serveNode({ config, handle: h.db.handle, port: 0, jobs: false });
      const base = server.url;
      // The request goes to the server, but claims another host.
      const client = new PartnerClient({
        baseUrl: base,
        issuer: p.id,
        privateJwk: p.privateJwk,
        fetch: forgedHostFetch("evil.example:8443"),
      });
      const m = await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "host-header-node" });
      const portal = await client.call<{ url: string }>("POST", `/v1/members/${m.member_id}/portal-sessions`, {});
      expect(portal.url.startsWith(`${base}/portal/login/`)).toBe(true);
    } finally {
      await server?.close();
    }
  });
});
