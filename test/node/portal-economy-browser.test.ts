/**
 * The members' own economy in the member portal, in real Chromium (Debian's, driven by
 * playwright-core) against the real Node server: the recipient gets a receive code (with a QR
 * code decoded here), the sender reviews and confirms a transfer (a double-submitted confirmation
 * sends once), refusals are messages on the page, and the invite page shows the member's
 * referral code and how its referrals went. Every page passes axe-core at 390 and 1280 px
 * without scrolling sideways; the ledger is sound at the end. Screenshots go to
 * test-results/screenshots/portal-economy-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { PartnerClient } from "../../src/client/index.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { PAGE_CSP } from "../../src/web/layout.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";
import { hasChromium, launchBrowser } from "../support/browser.js";
import { auditAtBothWidths } from "../support/axe.js";
import { qrOf } from "../support/qr.js";

let h: Harness;
let server: RunningServer;
let browser: Browser;
let hotelP: TestPartner;
let shopP: TestPartner;
let hotel: PartnerClient;
let shop: PartnerClient;

beforeAll(async () => {
  if (!hasChromium) return;
  h = await createHarness({ MEMBER_TRANSFER_DAILY_POINTS: "3000" });
  hotelP = await h.partner({ name: "Aurora Hotels", earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  shopP = await h.partner({ name: "Northwind Retail", category: "retail", earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  server = await serveNode({ config: { ...h.config, publicBaseUrl: undefined }, handle: h.db.handle, port: 0, jobs: false });
  hotel = new PartnerClient({ baseUrl: server.url, issuer: hotelP.id, privateJwk: hotelP.privateJwk });
  shop = new PartnerClient({ baseUrl: server.url, issuer: shopP.id, privateJwk: shopP.privateJwk });
  browser = await launchBrowser();
});
afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await server?.close();
  await h?.close();
});

const audit = (page: Page, name: string) => auditAtBothWidths(page, `portal-economy-${name}`);

/**
 * A member's browser, signed in through `partner`'s one-time link. axe-core needs its script
 * injected, so this context bypasses the pages' CSP; the CSP itself is checked on the raw answers.
 */
async function signIn(partner: PartnerClient, member: string): Promise<{ context: BrowserContext; page: Page }> {
  const { url } = await partner.call<{ url: string }>("POST", `/v1/members/${member}/portal-sessions`, {});
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, bypassCSP: true });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByRole("button", { name: "Open my account" }).click();
  await page.waitForURL(`${server.url}/portal`);
  return { context, page };
}

/** Audits a GET page in a tab of its own. */
async function auditAs(context: BrowserContext, path: string, name: string) {
  const p = await context.newPage();
  const res = await p.goto(`${server.url}${path}`);
  expect(res!.status(), path).toBe(200);
  await audit(p, name);
  await p.close();
}

describe.skipIf(!hasChromium)("sending, receiving and inviting in the member portal, in Chromium", () => {
  it("receive code with a QR code → review → confirm sends once; refusals are messages; invite shows the code and the referrals", async () => {
    const sender = (await hotel.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "guest-tr-1" })).member_id;
    await hotel.call("POST", "/v1/earn", { member: sender, amount_minor: 500_000, currency: "EUR", reference: "stay-tr-1" }); // 5,000 points
    const recipient = (await shop.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "shopper-tr-1" })).member_id;

    // The recipient asks for a receive code in its own portal.
    const them = await signIn(shop, recipient);
    await them.page.getByRole("link", { name: "Send or receive points" }).click();
    await them.page.waitForURL(`${server.url}/portal/transfer`);
    await auditAs(them.context, "/portal/transfer", "transfer-recipient");
    await them.page.getByRole("button", { name: "Get a receive code" }).click();
    const code = (await them.page.getByTestId("receive-code").textContent())!.trim();
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(await qrOf(them.page.locator(".receive-code"))).toBe(code);
    await audit(them.page, "receive-code");

    // The sender: the form, a mistyped code refused on the form, then a review of the real one (typed in lower case).
    const me = await signIn(hotel, sender);
    await me.page.getByRole("navigation", { name: "Your account" }).getByRole("link", { name: "Send & receive" }).click();
    await me.page.waitForURL(`${server.url}/portal/transfer`);
    expect(await me.page.getByTestId("available").textContent()).toBe("5,000");
    expect(await me.page.getByTestId("allowance").textContent()).toBe("3,000");
    await me.page.getByLabel("Their receive code").fill("K7Q2");
    await me.page.getByLabel("Points to send").fill("4,000");
    await me.page.getByRole("button", { name: "Review" }).click();
    expect(await me.page.locator("#code-error").textContent()).toContain("12-character code");
    expect(await me.page.locator("#points-error").textContent()).toContain("up to 3,000 more points today");
    expect(await me.page.getByLabel("Their receive code").getAttribute("aria-invalid")).toBe("true");
    await audit(me.page, "send-form-errors");
    await me.page.getByLabel("Their receive code").fill(code.toLowerCase());
    await me.page.getByLabel("Points to send").fill("1200");
    await me.page.getByRole("button", { name: "Review" }).click();
    expect(await me.page.getByRole("heading", { level: 1 }).textContent()).toBe("Send 1,200 points?");
    expect(await me.page.getByTestId("review-code").textContent()).toBe(code);
    await audit(me.page, "review");

    // A double submit (as a double click sends it) and the button once more: one transfer.
    const form = me.page.locator('form[action="/portal/transfer/send"]');
    const fields = {
      csrf: await form.locator("input[name=csrf]").inputValue(),
      nonce: await form.locator("input[name=nonce]").inputValue(),
      code: await form.locator("input[name=code]").inputValue(),
      points: "1200",
    };
    const posts = await Promise.all([1, 2].map(() => me.context.request.post(`${server.url}/portal/transfer/send`, { form: fields, maxRedirects: 0 })));
    expect(posts.map((p) => p.status())).toEqual([303, 303]);
    expect(posts[0]!.headers().location).toBe(posts[1]!.headers().location);
    await me.page.getByRole("button", { name: "Confirm: send 1,200 points" }).click();
    await me.page.waitForURL(/\/portal\/transfer\?sent=trf_/);
    expect(await me.page.getByTestId("notice").textContent()).toContain("Sent: 1,200 points");
    expect(await me.page.getByTestId("available").textContent()).toBe("3,800");
    expect(await me.page.getByTestId("allowance").textContent()).toBe("1,800");
    await auditAs(me.context, new URL(me.page.url()).pathname + new URL(me.page.url()).search, "sent");
    // The recipient's brand sees exactly one transfer_in.
    const received = await shop.call<{ data: { type: string; points: number; partner_id: string | null }[] }>("GET", `/v1/transactions?member=${recipient}`);
    expect(received.data).toEqual([expect.objectContaining({ type: "transfer_in", points: 1_200, partner_id: null })]);
    // The sender's history says where the points went.
    await me.page.goto(`${server.url}/portal`);
    expect(await me.page.locator("table").textContent()).toContain("Sent to another member");

    // The code is spent: confirming it again is a message on the review page, and nothing moves.
    await me.page.goto(`${server.url}/portal/transfer`);
    await me.page.getByLabel("Their receive code").fill(code);
    await me.page.getByLabel("Points to send").fill("100");
    await me.page.getByRole("button", { name: "Review" }).click();
    const [answer] = await Promise.all([me.page.waitForResponse((r) => r.url().endsWith("/portal/transfer/send")), me.page.getByRole("button", { name: "Confirm: send 100 points" }).click()]);
    expect(answer.status()).toBe(422);
    expect(await me.page.getByTestId("refusal").textContent()).toContain("This code doesn't work");
    expect(await me.page.getByRole("alert").count()).toBeGreaterThan(0);
    await audit(me.page, "refused");
    expect((await hotel.call<{ balance: { available: number } }>("GET", `/v1/members/${sender}`)).balance.available).toBe(3_800);

    // Invite: the member's code (stable, with its QR code) and its referrals; a friend joins and buys.
    await me.page.getByRole("navigation", { name: "Your account" }).getByRole("link", { name: "Invite" }).click();
    await me.page.waitForURL(`${server.url}/portal/invite`);
    const referral = (await me.page.getByTestId("referral-code").textContent())!.trim();
    expect(referral).toBe((await hotel.call<{ code: string }>("GET", `/v1/members/${sender}/referral-code`)).code);
    expect(await qrOf(me.page.locator(".receive-code"))).toBe(referral);
    expect(await me.page.getByTestId("referred").textContent()).toBe("0");
    const friend = (await shop.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "friend-tr-1", referral_code: referral })).member_id;
    await shop.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "friend-tr-2", referral_code: referral });
    await shop.call("POST", "/v1/earn", { member: friend, amount_minor: 2_000, currency: "EUR", reference: "first-buy" });
    await me.page.reload();
    expect([await me.page.getByTestId("referred").textContent(), await me.page.getByTestId("paid").textContent(), await me.page.getByTestId("waiting").textContent()]).toEqual(["2", "1", "1"]);
    expect(await me.page.textContent("main")).toContain("you both get 500 points");
    await auditAs(me.context, "/portal/invite", "invite");
    await auditAs(me.context, "/portal", "home");

    // A strict CSP on every new page, and nothing on them that would need more.
    for (const path of ["/portal/transfer", "/portal/invite"]) {
      const res = await me.context.request.get(`${server.url}${path}`);
      expect(res.headers()["content-security-policy"], path).toBe(PAGE_CSP);
      expect(await res.text(), path).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    }
    await me.context.close();
    await them.context.close();
    expect(await h.verify()).toEqual([]);
  });
});
