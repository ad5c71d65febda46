/**
 * The finance dashboard in real Chromium: a one-time sign-in link (asked for with a signed
 * staff request, no key in the browser), reports as tables and an SVG chart, a settlement run
 * drafted, finalized and exported as CSV. Screenshots go to test-results/screenshots/.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { StaffClient } from "../../src/client/index.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { clientAtClock, createHarness, type Harness } from "../support/harness.js";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.js";

let h: Harness;
let server: RunningServer;
let browser: Browser;
let clock = Date.parse("2026-10-05T10:00:00Z");

beforeAll(async () => {
  if (!hasChromium) return;
  h = await createHarness();
  browser = await launchBrowser();
  // No PUBLIC_BASE_URL: links point at this server, as in a local run.
  server = await serveNode({ config: { ...h.config, publicBaseUrl: undefined }, handle: h.db.handle, port: 0, jobs: false, now: () => new Date(clock) });
});
afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await server?.close();
  await h.close();
});

describe.skipIf(!hasChromium)("finance dashboard in Chromium", () => {
  it("signs in from a one-time link, shows reports, drafts, finalizes and exports a run", async () => {
    const hotelP = await h.partner({ name: "Aurora Hotels" });
    const taxiP = await h.partner({ name: "Swift Rides", category: "ride_hailing" });
    const at = (p: typeof hotelP) => clientAtClock(h, p, () => clock);
    const [hotel, taxi] = [at(hotelP), at(taxiP)];
    const m = await hotel.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "g-1" });
    const { code } = await hotel.call<{ code: string }>("POST", `/v1/members/${m.member_id}/link-codes`, {});
    await taxi.call("POST", "/v1/links", { code, external_ref: "r-1" });
    await hotel.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 50_000, currency: "EUR", reference: "stay" }); // 5000 × 0.01
    await taxi.call("POST", "/v1/burn", { member: m.member_id, points: 2_000, reference: "ride" }); // 2000 × 0.008

    clock = Date.parse("2026-11-02T09:00:00Z");
    const finance = new StaffClient({ baseUrl: server.url, privateJwk: h.staffKey.privateJwk, sub: "fin@coalesce", role: "finance", clock: () => Math.floor(clock / 1000) });
    const { url } = await finance.call<{ url: string }>("POST", "/v1/staff/sign-in-links", {});
    expect(url.startsWith(`${server.url}/finance/login/`)).toBe(true);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/finance`);
    expect(await page.getByTestId("outstanding").textContent()).toBe("3,000");
    expect(await page.locator("svg.chart rect").count()).toBe(12);
    expect(await page.getByRole("table").first().textContent()).toContain("2026-10");
    await page.screenshot({ path: join(SCREENSHOTS, "finance-reports.png"), fullPage: true });

    await page.getByRole("link", { name: "Settlement runs" }).click();
    expect(await page.getByLabel("Period start").inputValue()).toBe("2026-10-01");
    await page.getByRole("button", { name: "Draft statements" }).click();
    await expect.poll(() => page.getByTestId("run-status").textContent()).toBe("(draft)");
    expect(await page.getByTestId(`net-${hotelP.id}`).textContent()).toBe("50.00 EUR");
    expect(await page.getByTestId(`net-${taxiP.id}`).textContent()).toBe("-16.00 EUR");
    await page.getByRole("button", { name: "Finalize this period" }).click();
    await expect.poll(() => page.getByTestId("run-status").textContent()).toBe("(final)");
    expect(await page.getByRole("status").textContent()).toContain("numbered, signed and frozen");
    await page.screenshot({ path: join(SCREENSHOTS, "finance-run-final.png"), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8");
    expect(csv.split("\r\n")[0]).toMatch(/^statement_id,number,status,partner_id/);
    expect(csv).toContain(`,final,${hotelP.id},2026-10-01,2026-11-01,EUR,issuance,5000,`);

    // The link worked once; a partner key cannot ask for one.
    const again = await context.newPage();
    expect((await again.goto(url))!.status()).toBe(410);
    expect((await hotel.request("POST", "/v1/staff/sign-in-links", {})).status).toBe(403);
    await context.close();
  });
});
