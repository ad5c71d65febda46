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
import { auditAtBothWidths } from "../support/axe.js";

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

    // bypassCSP: axe-core is injected as a script (the pages' CSP is checked on the raw answers elsewhere).
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, bypassCSP: true });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${server.url}/finance`);
    expect(await page.getByTestId("outstanding").textContent()).toBe("3,000");
    expect(await page.locator("svg.chart rect").count()).toBe(12);
    expect(await page.getByRole("table").first().textContent()).toContain("2026-10");
    // The chart has a scale; flows name the partners; money is rounded, one currency a column.
    expect(await page.locator("svg.chart text.axis").count()).toBeGreaterThanOrEqual(5);
    const flowsTable = page.locator("section", { has: page.getByRole("heading", { name: /Cross-partner flows/ }) });
    expect(await flowsTable.textContent()).toContain("Aurora Hotels");
    expect(await flowsTable.textContent()).not.toContain(hotelP.id);
    expect(await page.getByRole("columnheader", { name: "Value at close (EUR)" }).count()).toBe(1);
    expect(await page.getByRole("table").first().textContent()).toContain("30.00"); // 3,000 points × 0.01, rounded to cents
    await page.screenshot({ path: join(SCREENSHOTS, "finance-reports.png"), fullPage: true });
    await auditAtBothWidths(page, "finance-reports");
    // A period of one's choosing, and the reports as CSV.
    await page.getByLabel("From").fill("2026-10-01");
    await page.getByLabel("To (exclusive)").fill("2026-11-01");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(/from=2026-10-01&to=2026-11-01/);
    expect(await page.getByRole("heading", { name: "Liability, 2026-10-01 to 2026-11-01" }).count()).toBe(1);
    expect(await page.locator("svg.chart rect").count()).toBe(1);
    const [liabilityCsv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /liability roll-forward \(CSV\)/ }).click()]);
    const liability = readFileSync((await liabilityCsv.path())!, "utf8").split("\r\n");
    expect(liability[0]).toMatch(/^month,opening_points,issued_points/);
    expect(liability[1]).toBe("2026-10,0,5000,2000,0,0,3000,EUR,0,50,20,0,0,30"); // value at the issue price: 2,000 × 0.01 redeemed
    const [flowsCsv] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: /flows \(CSV\)/ }).click()]);
    expect(readFileSync((await flowsCsv.path())!, "utf8")).toContain(`2026-10-01,2026-11-01,${hotelP.id},${taxiP.id},2000`);
    await page.goto(`${server.url}/finance?from=2026-12-01&to=2026-11-01`);
    expect(await page.getByRole("status").textContent()).toContain("showing the last 12 months");

    await page.getByRole("link", { name: "Settlement runs" }).click();
    expect(await page.getByLabel("Period start").inputValue()).toBe("2026-10-01");
    await page.getByRole("button", { name: "Draft statements" }).click();
    await expect.poll(() => page.getByTestId("run-status").textContent()).toBe("(draft)");
    expect(await page.getByTestId(`net-${hotelP.id}`).textContent()).toBe("50.00");
    expect(await page.getByTestId(`net-${taxiP.id}`).textContent()).toBe("-16.00");
    expect(await page.getByTestId("run-dates").textContent()).toContain("Drafted 2026-11-02 09:00 UTC");
    // At 1280 px the whole statement table is in view, Net included.
    const net = await page.getByTestId(`net-${taxiP.id}`).boundingBox();
    expect(net!.x + net!.width).toBeLessThanOrEqual(1280);
    expect(await page.getByRole("row", { name: /Swift Rides/ }).count()).toBe(1);
    await auditAtBothWidths(page, "finance-run-draft");
    // A draft of the month still running offers no Finalize, and says why.
    const open = await context.newPage();
    await open.goto(`${server.url}/finance/runs`);
    await open.getByLabel("Period start").fill("2026-11-01");
    await open.getByLabel("Period end (exclusive)").fill("2026-12-01");
    await open.getByRole("button", { name: "Draft statements" }).click();
    await expect.poll(() => open.getByTestId("run-status").textContent()).toBe("(draft)");
    expect(await open.getByRole("button", { name: "Finalize this period" }).count()).toBe(0);
    expect(await open.getByTestId("not-closed").textContent()).toContain("ends on 2026-12-01");
    expect(await open.getByTestId("run-dates").textContent()).toContain("the period is still open");
    await open.close();
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
