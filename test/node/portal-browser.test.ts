/**
 * The member portal in real Chromium (Debian's, driven by playwright-core), against the real
 * Node server: a one-time URL opens the account, which shows balance and history across brands;
 * the member creates a link code and unlinks a brand; the URL cannot be used twice and the
 * session expires. Screenshots go to test-results/screenshots/.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { PartnerClient } from "../../src/client/index.js";
import { createNodeApp, serveNode, type RunningServer } from "../../src/entry/node.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.js";

let h: Harness;
let server: RunningServer;
let browser: Browser;
let hotel: PartnerClient;
let taxi: PartnerClient;
let hotelP: TestPartner;
let taxiP: TestPartner;

beforeAll(async () => {
  if (!hasChromium) return;
  h = await createHarness();
  hotelP = await h.partner({ name: "Aurora Hotels" });
  taxiP = await h.partner({ name: "Swift Rides", category: "ride_hailing" });
  // No PUBLIC_BASE_URL: links point at this server, as in a local run.
  server = await serveNode({ config: { ...h.config, publicBaseUrl: undefined }, handle: h.db.handle, port: 0, jobs: false });
  hotel = new PartnerClient({ baseUrl: server.url, issuer: hotelP.id, privateJwk: hotelP.privateJwk });
  taxi = new PartnerClient({ baseUrl: server.url, issuer: taxiP.id, privateJwk: taxiP.privateJwk });
  browser = await launchBrowser();
});
afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await server?.close();
  await h.close();
});

describe.skipIf(!hasChromium)("member portal in Chromium", () => {
  it("opens from a one-time URL, shows balance and history, links and unlinks brands, and expires", async () => {
    const m = await hotel.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "guest-501" });
    await hotel.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 45_000, currency: "EUR", reference: "stay-501" });
    const pendingAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    await hotel.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 20_000, currency: "EUR", reference: "stay-502", available_at: pendingAt });
    const lc = await hotel.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    await taxi.call("POST", "/v1/links", { code: lc.code, external_ref: "rider-501" });
    await taxi.call("POST", "/v1/burn", { member: m.member_id, points: 1_200, reference: "ride-77" });
    await taxi.call("POST", "/v1/holds", { member: m.member_id, points: 300, reference: "ride-78" });

    const { url } = await hotel.call<{ url: string }>("POST", `/v1/members/${m.member_id}/portal-sessions`, {});
    expect(url.startsWith(server.url)).toBe(true);

    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByRole("button", { name: "Open my account" }).click();
    await page.waitForURL(`${server.url}/portal`);
    await expect.poll(() => page.getByTestId("available").textContent()).toBe("3,000"); // 4,500 − 1,200 burned − 300 held
    expect(await page.getByTestId("pending").textContent()).toBe("2,000");
    expect(await page.getByTestId("held").textContent()).toBe("300");
    expect(await page.getByTestId("tier").textContent()).toBe("blue");
    // History: the active hold first, then the postings, each with the brand's reference.
    const history = page.getByRole("table");
    await expect.poll(() => history.locator("tbody tr").count()).toBe(4);
    const first = history.locator("tbody tr").first();
    expect(await first.textContent()).toContain("On hold for a purchase in progress");
    expect(await first.textContent()).toContain("Ref. ride-78");
    expect(await first.textContent()).toContain("-300");
    expect(await history.textContent()).toContain("Swift Rides");
    expect(await history.textContent()).toContain("-1,200");
    expect(await history.textContent()).toContain("pending until");
    expect(await history.textContent()).toContain("Ref. stay-501");
    await page.screenshot({ path: join(SCREENSHOTS, "portal-phone.png"), fullPage: true });
    // Filtered to one brand, then to one kind: only what matches.
    await page.getByLabel("Brand", { exact: true }).selectOption({ label: "Swift Rides" });
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/brand=/);
    await expect.poll(() => history.locator("tbody tr").count()).toBe(2); // the hold and the burn
    await page.getByLabel("Brand", { exact: true }).selectOption({ label: "All brands" });
    await page.getByLabel("Kind", { exact: true }).selectOption({ label: "Earned" });
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/kind=earned/);
    await expect.poll(() => history.locator("tbody tr").count()).toBe(2); // the two earns, no hold
    expect(await history.textContent()).not.toContain("On hold");
    await page.screenshot({ path: join(SCREENSHOTS, "portal-history-filtered-phone.png"), fullPage: true });
    await page.goto(`${server.url}/portal`);

    await page.getByRole("button", { name: "Create a link code" }).click();
    const code = (await page.getByTestId("link-code").textContent())!.trim();
    expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    await page.screenshot({ path: join(SCREENSHOTS, "portal-link-code.png"), fullPage: true });
    // The code works for another brand.
    const third = await h.partner({ name: "Northwind Retail", category: "retail" });
    const retail = new PartnerClient({ baseUrl: server.url, issuer: third.id, privateJwk: third.privateJwk });
    expect((await retail.request("POST", "/v1/links", { code, external_ref: "shopper-501" })).status).toBe(201);
    await page.reload();
    await expect.poll(() => page.getByRole("listitem").count()).toBe(3);

    await page.getByRole("button", { name: "Unlink Swift Rides" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toContain("no longer linked");
    expect(await page.getByRole("button", { name: "Unlink Swift Rides" }).count()).toBe(0);
    expect((await taxi.request("GET", `/v1/members/${m.member_id}`)).status).toBe(404);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: join(SCREENSHOTS, "portal-desktop.png"), fullPage: true });

    // The one-time URL cannot be used twice.
    const again = await context.newPage();
    const res = await again.goto(url);
    expect(res!.status()).toBe(410);
    expect(await again.getByRole("heading", { level: 1 }).textContent()).toContain("expired");

    // Sixteen minutes on (a server sharing the database, its clock ahead), the session has ended.
    const laterApp = createNodeApp(h.config, h.db.handle, () => new Date(Date.now() + 16 * 60_000));
    const cookies = await context.cookies(`${server.url}/portal`);
    const session = cookies.find((c) => c.name === "coalesce_portal")!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe("Lax");
    const expired = await laterApp.request("/portal", { headers: { cookie: `coalesce_portal=${session.value}` } });
    expect(expired.status).toBe(401);
    await context.close();
  });
});
