/**
 * The API reference's "Try it out" in real Chromium (Debian's, driven by playwright-core) against
 * the real Node server: the page signs each call in the browser with WebCrypto (a fresh token per
 * call, htu as sent, bsh over the exact body, an Idempotency-Key for POSTs), with the local demo
 * key a development server offers or with a key pasted into the panel (ES256, EdDSA, staff).
 * The demo key endpoint answers only in development. Screenshots go to test-results/screenshots/.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK, type JWK } from "jose";
import type { Browser, Page } from "playwright-core";
import { createNodeApp, serveNode, type RunningServer } from "../../src/entry/node.js";
import type { Config } from "../../src/config.js";
import { ensureDevKey, type DevKeyPair } from "../../src/dev/keys.js";
import { demoDocsKey } from "../../src/dev/docs-key.js";
import type { PublicJwk } from "../../src/partners/document.js";
import { createHarness, type Harness } from "../support/harness.js";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.js";

const DEMO = "docs-demo-hotels";
let h: Harness;
let dataDir: string;
let demoKey: DevKeyPair;
let server: RunningServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  // Development, as `npm start` runs: the only environment where the demo key is offered.
  h = await createHarness({ ENVIRONMENT: "development" });
  // The demo partner's key where `npm start` keeps it (.data/keys/<id>.private.jwk.json), registered through the admin API.
  dataDir = mkdtempSync(join(tmpdir(), "coalesce-docs-"));
  demoKey = await ensureDevKey(dataDir, DEMO, "ES256");
  await h.partner({ id: DEMO, name: "Docs Demo Hotels", keys: [demoKey.publicJwk as PublicJwk] });
  if (!hasChromium) return;
  // No PUBLIC_BASE_URL: the server's own address, as in a local run.
  server = await serveNode({
    config: { ...h.config, publicBaseUrl: undefined },
    handle: h.db.handle,
    port: 0,
    jobs: false,
    docsDevKey: demoDocsKey(dataDir, DEMO),
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await h?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const LOCAL = "http://127.0.0.1:8787";

describe("GET /docs/dev-key", () => {
  const appIn = (config: Partial<Config>, withKey = true) =>
    createNodeApp({ ...h.config, ...config }, h.db.handle, undefined, withKey ? { docsDevKey: demoDocsKey(dataDir, DEMO) } : {});

  async function expectNotFound(res: Response) {
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const text = await res.text();
    expect((JSON.parse(text) as { code: string }).code).toBe("not_found");
    expect(text).not.toContain(demoKey.privateJwk.d!);
  }

  it("hands a development server's page the demo partner's key, on a loopback address only", async () => {
    const app = appIn({ environment: "development" });
    const res = await app.request(`${LOCAL}/docs/dev-key`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { issuer: string; private_jwk: JWK };
    expect(body.issuer).toBe(DEMO);
    expect(body.private_jwk).toEqual(demoKey.privateJwk);
    expect((await app.request(`${LOCAL}/docs/dev-key`, { method: "HEAD" })).status).toBe(200);
    expect((await app.request("http://localhost:8787/docs/dev-key")).status).toBe(200);
    // A page on any other name (a LAN address, a DNS-rebinding name) is refused.
    await expectNotFound(await app.request("http://docs.attacker.example:8787/docs/dev-key"));
    await expectNotFound(await app.request("http://192.168.1.20:8787/docs/dev-key"));
    // The development page offers the button; no other environment's page does.
    expect(await (await app.request(`${LOCAL}/docs`)).text()).toContain('data-dev-key="/docs/dev-key"');
  });

  it("is 404 problem+json in production and test, even with a key to offer, and wherever no key was given", async () => {
    for (const environment of ["production", "test"] as const) {
      const app = appIn({ environment });
      await expectNotFound(await app.request(`${LOCAL}/docs/dev-key`));
      expect((await app.request(`${LOCAL}/docs/dev-key`, { method: "HEAD" })).status).toBe(404);
      expect(await (await app.request(`${LOCAL}/docs`)).text()).not.toContain("data-dev-key");
    }
    // A server that has no key files (Workers, or Node without npm start) never mounts the route.
    await expectNotFound(await appIn({ environment: "development" }, false).request(`${LOCAL}/docs/dev-key`));
    // No key file: nothing is generated, nothing offered.
    const missing = createNodeApp({ ...h.config, environment: "development" }, h.db.handle, undefined, { docsDevKey: demoDocsKey(dataDir, "no-such-partner") });
    await expectNotFound(await missing.request(`${LOCAL}/docs/dev-key`));
  });
});

interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
}

/** Every request the page sends, to check what went on the wire (and that no private key did). */
function recordRequests(page: Page): SentRequest[] {
  const sent: SentRequest[] = [];
  page.on("request", (req) => sent.push({ method: req.method(), url: req.url(), headers: req.headers(), body: req.postData() }));
  return sent;
}

/** Console errors and CSP violations: the page must run under its strict CSP without either. */
function recordErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("response", (res) => {
    if (res.status() >= 400) errors.push(`${res.status()} ${res.url()}`);
  });
  return errors;
}

async function openDocs(page: Page) {
  await page.goto(`${server!.url}/docs`);
  await page.locator(".opblock").first().waitFor();
}

/** An operation's block, found by method and path (operation ids and tags may change). */
function operation(page: Page, method: string, path: string) {
  return page.locator(`.opblock.opblock-${method.toLowerCase()}`).filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
}

async function expand(page: Page, method: string, path: string) {
  const op = operation(page, method, path);
  await op.locator(".opblock-summary-control").click();
  await op.locator(".execute").waitFor();
  return op;
}

/** Clicks Execute and returns the status code shown in the live response panel. */
async function execute(op: ReturnType<typeof operation>): Promise<number> {
  const clear = op.locator(".btn-clear");
  if (await clear.count()) await clear.click();
  await op.locator(".execute").click();
  const status = op.locator(".live-responses-table tr.response .response-col_status").first();
  await status.waitFor();
  return Number((await status.textContent())!.trim().slice(0, 3));
}

async function responseBody(op: ReturnType<typeof operation>): Promise<string> {
  return (await op.locator(".live-responses-table tr.response .highlight-code pre").first().textContent()) ?? "";
}

function bsh(body: string | null): string {
  return createHash("sha256").update(body ?? "").digest("base64url");
}

describe.skipIf(!hasChromium)("Try it out in Chromium", () => {
  it("signs each call with the local demo key: fresh tokens, htu as sent, bsh over the body, Idempotency-Key for POSTs", async () => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const sent = recordRequests(page);
    const errors = recordErrors(page);
    await openDocs(page);
    expect(await page.title()).toBe("Coalesce API reference");

    await page.getByRole("button", { name: "Use the local demo key" }).click();
    await expect.poll(() => page.getByRole("status").first().textContent()).toContain(`Signing calls as ${DEMO} with key ${demoKey.privateJwk.kid} (ES256)`);
    expect(await page.getByLabel("Private JWK").inputValue()).toBe("");
    await page.screenshot({ path: join(SCREENSHOTS, "docs-key-panel.png") });

    // POST /v1/members: 201, then the same body again with a new token (and a new Idempotency-Key): 200, the same member.
    const enrol = await expand(page, "POST", "/v1/members");
    await enrol.locator("textarea.body-param__text").fill('{"external_ref":"docs-guest-1"}');
    expect(await execute(enrol)).toBe(201);
    const member = JSON.parse(await responseBody(enrol)) as { member_id: string; external_ref: string };
    expect(member.external_ref).toBe("docs-guest-1");
    expect(await execute(enrol)).toBe(200);
    expect(await responseBody(enrol)).not.toContain("replayed_token");
    await page.screenshot({ path: join(SCREENSHOTS, "docs-try-it-out.png") });

    // A path the browser percent-encodes (ext:… → ext%3A…): htu is what went on the wire.
    const read = await expand(page, "GET", "/v1/members/{member}");
    await read.locator('tr[data-param-name="member"] input').fill("ext:docs-guest-1");
    expect(await execute(read)).toBe(200);
    expect(JSON.parse(await responseBody(read)).member_id).toBe(member.member_id);

    // A query string, twice.
    // Swagger UI fills in the documented examples; this partner's own member and a limit instead.
    const list = await expand(page, "GET", "/v1/transactions");
    await list.locator('tr[data-param-name="member"] input').fill(member.member_id);
    await list.locator('tr[data-param-name="limit"] input').fill("5");
    expect(await execute(list)).toBe(200);
    expect(await execute(list)).toBe(200);
    await list.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, "docs-try-it-out-response.png") });

    // What went on the wire.
    const calls = sent.filter((r) => new URL(r.url).pathname.startsWith("/v1/"));
    expect(calls.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
      "POST /v1/members",
      "POST /v1/members",
      "GET /v1/members/ext%3Adocs-guest-1",
      "GET /v1/transactions",
      "GET /v1/transactions",
    ]);
    const publicKey = await importJWK(demoKey.publicJwk, "ES256");
    const jtis = new Set<string>();
    for (const call of calls) {
      const token = call.headers["authorization"]!.replace(/^Bearer /, "");
      expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", kid: demoKey.privateJwk.kid, typ: "coalition-request+jwt" });
      await compactVerify(token, publicKey); // raw r‖s, as JWS wants
      const claims = decodeJwt(token) as Record<string, unknown>;
      const url = new URL(call.url);
      expect(claims).toMatchObject({ iss: DEMO, aud: h.config.apiAudience, htm: call.method, htu: url.pathname + url.search, bsh: bsh(call.body) });
      expect((claims.exp as number) - (claims.iat as number)).toBeLessThanOrEqual(300);
      expect((claims.jti as string).length).toBeGreaterThanOrEqual(16);
      jtis.add(claims.jti as string);
    }
    expect(jtis.size).toBe(calls.length);
    expect(calls[3]!.url).toContain(`/v1/transactions?member=${member.member_id}&limit=5`);
    const keys = calls.filter((c) => c.method === "POST").map((c) => c.headers["idempotency-key"]);
    expect(keys.every((k) => typeof k === "string" && k.length >= 16)).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    // The private key went to no server: only the demo key's own answer carried it, into the page.
    for (const r of sent) expect(JSON.stringify(r)).not.toContain(demoKey.privateJwk.d!);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("signs with a pasted EdDSA partner key and a pasted staff key, refuses a public key, and sends unsigned once forgotten", async () => {
    const partner = await h.partner({ name: "Docs EdDSA Rides", category: "ride_hailing", alg: "EdDSA" });
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const sent = recordRequests(page);
    const errors = recordErrors(page);
    await openDocs(page);
    const status = page.locator("#key-status");

    // A public key is refused in the panel.
    const { d: _d, ...publicOnly } = partner.privateJwk;
    await page.getByLabel("Issuer (iss): your partner id").fill(partner.id);
    await page.getByLabel("Private JWK").fill(JSON.stringify(publicOnly));
    await page.getByRole("button", { name: "Use this key" }).click();
    await expect.poll(() => status.textContent()).toContain("This is a public key");

    // Kept for this tab only when asked: a reload signs on with it.
    await page.getByLabel("Private JWK").fill(JSON.stringify(partner.privateJwk));
    await page.getByLabel("Keep the key for this tab after a reload (sessionStorage)").check();
    await page.getByRole("button", { name: "Use this key" }).click();
    await expect.poll(() => status.textContent()).toContain(`Signing calls as ${partner.id} with key ${partner.privateJwk.kid} (EdDSA)`);
    await page.reload();
    await page.locator(".opblock").first().waitFor();
    await expect.poll(() => status.textContent()).toContain(`Signing calls as ${partner.id} with key ${partner.privateJwk.kid} (EdDSA), kept for this tab`);
    const list = await expand(page, "GET", "/v1/transactions");
    await list.locator('tr[data-param-name="member"] input').fill("");
    expect(await execute(list)).toBe(200);
    expect(await execute(list)).toBe(200);

    // Staff: operator issuer, sub and role.
    await page.getByLabel("Staff (operator)").check();
    expect(await page.getByLabel("Issuer (iss): the operator issuer").inputValue()).toBe(h.config.operatorIssuer);
    await page.getByLabel("Staff member (sub)").fill("docs-finance@coalesce");
    await page.getByLabel("Role").selectOption("finance");
    await page.getByLabel("Private JWK").fill(JSON.stringify(h.staffKey.privateJwk));
    await page.getByRole("button", { name: "Use this key" }).click();
    await expect.poll(() => status.textContent()).toContain("Signing calls as docs-finance@coalesce (finance, iss operator)");
    await page.locator("#signing").screenshot({ path: join(SCREENSHOTS, "docs-key-panel-staff.png") });
    const report = await expand(page, "GET", "/v1/reports/partners");
    expect(await execute(report)).toBe(200);
    expect(await responseBody(report)).toContain(partner.id);
    await page.screenshot({ path: join(SCREENSHOTS, "docs-staff-key.png") });

    // Forgotten: the call goes unsigned and the server says so; nothing is left in the tab's storage.
    await page.getByRole("button", { name: "Forget the key" }).click();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await execute(report)).toBe(401);
    expect(await responseBody(report)).toContain("missing_token");

    const calls = sent.filter((r) => new URL(r.url).pathname.startsWith("/v1/"));
    const staffClaims = decodeJwt(calls[2]!.headers["authorization"]!.replace(/^Bearer /, ""));
    expect(staffClaims).toMatchObject({ iss: h.config.operatorIssuer, sub: "docs-finance@coalesce", role: "finance", htu: "/v1/reports/partners" });
    expect(calls[3]!.headers["authorization"]).toBeUndefined();
    for (const r of sent) {
      expect(JSON.stringify(r)).not.toContain(partner.privateJwk.d!);
      expect(JSON.stringify(r)).not.toContain(h.staffKey.privateJwk.d!);
    }
    expect(errors.filter((e) => !/\b401\b/.test(e))).toEqual([]); // the unsigned call's 401 was asked for
    await context.close();
  });
});
