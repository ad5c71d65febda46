/**
 * Rewards in the member portal, in real Chromium (Debian's, driven by playwright-core) against
 * the real Node server: the catalogue with what the member can afford, a confirmation step, the
 * redemption posted as the partner API posts it (through the partner whose link opened the
 * session), a double-submitted confirmation that makes one redemption, vouchers with their codes
 * and server-drawn QR codes (decoded here and compared with what the maker's API shows), a
 * cancellation with its own confirmation, refusals as messages on the page. Every page passes
 * axe-core at 390 and 1280 px without scrolling sideways; the ledger is sound at the end.
 * Screenshots go to test-results/screenshots/portal-rewards-*.png.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { PartnerClient } from "../../src/client/index.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { PAGE_CSP } from "../../src/web/layout.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.js";
import { auditAtBothWidths } from "../support/axe.js";
import { qrOf } from "../support/qr.js";

let h: Harness;
let server: RunningServer;
let browser: Browser;
let hotelP: TestPartner;
let shopP: TestPartner;
let hotel: PartnerClient;
let shop: PartnerClient;

interface Redemption {
  redemption_id: string;
  partner_id: string;
  status: string;
  points: number;
  quantity: number;
  vouchers?: { code: string; status: string; expires_at: string }[];
}

beforeAll(async () => {
  if (!hasChromium) return;
  h = await createHarness();
  hotelP = await h.partner({ name: "Aurora Hotels", earn_rules: [{ currency: "EUR", category: "*", points_per_unit: "1" }] });
  shopP = await h.partner({
    name: "Northwind Retail",
    category: "retail",
    settlement: { currency: "GBP", billing: "issuance", issue_price_per_point: "0.01", redemption_price_per_point: "0.008", period: "monthly" },
  });
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

const reward = (body: Record<string, unknown>) =>
  h.staff("admin").call<{ reward_id: string }>("POST", "/v1/admin/rewards", { supplier_id: shopP.id, supplier_price: "1", ...body });

const audit = (page: Page, name: string) => auditAtBothWidths(page, `portal-rewards-${name}`);

/** axe needs its script injected, so audits run in a second context (bypassCSP) that shares the session cookie. */
async function auditUrl(axe: BrowserContext, path: string, name: string) {
  const page = await axe.newPage();
  const res = await page.goto(`${server.url}${path}`);
  expect(res!.status(), path).toBe(200);
  await audit(page, name);
  await page.close();
}

describe.skipIf(!hasChromium)("rewards in the member portal, in Chromium", () => {
  it("catalogue → confirm → voucher with a QR code; a double submit makes one redemption; cancel with confirmation; refusals are messages", async () => {
    const giftCard = await reward({
      kind: "voucher",
      name: "£10 gift card",
      description: "Spend it on anything in store or online.",
      points: 1_000,
      face_value: { amount_minor: 1_000, currency: "GBP" },
      stock: 5,
      per_member_limit: 3,
      supplier_price: "9",
    });
    const mug = await reward({ kind: "item", name: "Travel mug", description: "Insulated steel, 350 ml, keeps coffee hot for six hours.", points: 1_500, stock: 20 });
    await reward({ kind: "transfer", name: "SkyMiles", description: "Airline miles with our flying partner.", points: 800, transfer: { program: "SkyMiles", units_per_unit: 500 } });
    await reward({ kind: "item", name: "Weekend for two", description: "Two nights with breakfast at any Aurora hotel.", points: 50_000, stock: 3 });
    await reward({ kind: "item", name: "Tote bag", points: 300, stock: 0 });
    const coffee = await reward({ kind: "voucher", name: "Coffee voucher", description: "Any hot drink at a Northwind café.", points: 500 });

    const m = await hotel.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "guest-rw-1" });
    await hotel.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 400_000, currency: "EUR", reference: "stay-rw-1" });
    const { url } = await hotel.call<{ url: string }>("POST", `/v1/members/${m.member_id}/portal-sessions`, {});

    // The member's own browser: the page's CSP enforced, every CSP violation recorded.
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const cspErrors: string[] = [];
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspErrors.push(msg.text());
    });
    await page.goto(url);
    await page.getByRole("button", { name: "Open my account" }).click();
    await page.waitForURL(`${server.url}/portal`);
    const axe = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true, storageState: await context.storageState() });
    await auditUrl(axe, "/portal", "home");

    // Home links to the rewards; the navigation too.
    expect(await page.getByRole("link", { name: "Browse rewards" }).count()).toBe(1);
    await page.getByRole("navigation", { name: "Your account" }).getByRole("link", { name: "Rewards", exact: true }).click();
    await page.waitForURL(`${server.url}/portal/rewards`);
    expect(await page.getByTestId("available").textContent()).toBe("4,000");
    const card = (name: string) => page.locator("li.reward", { has: page.getByRole("heading", { name, exact: true }) });
    expect(await card("£10 gift card").getAttribute("class")).toContain("affordable");
    expect(await card("£10 gift card").textContent()).toContain("Worth £10.00 at Northwind Retail");
    expect(await card("£10 gift card").textContent()).toContain("5 left · limit 3 per member");
    expect(await card("£10 gift card").textContent()).toContain("You have enough points");
    expect(await card("SkyMiles").textContent()).toContain("500 SkyMiles each");
    expect(await card("Weekend for two").getAttribute("class")).not.toContain("affordable");
    expect(await card("Weekend for two").textContent()).toContain("You need 46,000 more points");
    expect(await card("Weekend for two").getByRole("link").count()).toBe(0);
    expect(await card("Tote bag").textContent()).toContain("Out of stock");
    expect(await card("Tote bag").getByRole("link").count()).toBe(0);
    await auditUrl(axe, "/portal/rewards", "catalogue");

    // The confirmation step: quantity 2, the total and the points after.
    await page.getByRole("link", { name: "Redeem £10 gift card" }).click();
    await page.waitForURL(`${server.url}/portal/rewards/${giftCard.reward_id}`);
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Confirm your reward");
    // Three choices: the per-member limit (3) is lower than the stock (5) and what the points buy (4).
    expect(await page.locator("ul.qty-choices a").count()).toBe(3);
    await page.getByRole("link", { name: "Quantity 2" }).click();
    await page.waitForURL(/quantity=2$/);
    expect(await page.getByTestId("total").textContent()).toBe("2,000 points");
    expect(await page.getByTestId("after").textContent()).toBe("2,000 points");
    await auditUrl(axe, `/portal/rewards/${giftCard.reward_id}?quantity=2`, "confirm");

    // A double submit: the same confirmation posted twice at once (as a double click sends it), then once more by the button.
    const form = page.locator(`form[action="/portal/rewards/${giftCard.reward_id}/redeem"]`);
    const fields = { csrf: await form.locator("input[name=csrf]").inputValue(), nonce: await form.locator("input[name=nonce]").inputValue(), quantity: "2" };
    const posts = await Promise.all(
      [1, 2].map(() => context.request.post(`${server.url}/portal/rewards/${giftCard.reward_id}/redeem`, { form: fields, maxRedirects: 0 })),
    );
    expect(posts.map((p) => p.status())).toEqual([303, 303]);
    expect(posts[0]!.headers().location).toBe(posts[1]!.headers().location);
    await page.getByRole("button", { name: "Confirm: redeem 2,000 points" }).click();
    await page.waitForURL(/\/portal\/my-rewards\?redeemed=rdm_/);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe(posts[0]!.headers().location);
    const redemptionId = new URL(page.url()).searchParams.get("redeemed")!;
    const made = await hotel.call<{ data: Redemption[] }>("GET", `/v1/redemptions?member=${m.member_id}`);
    expect(made.data.map((r) => r.redemption_id)).toEqual([redemptionId]); // one redemption, through the session's partner
    expect(await page.getByTestId("available").textContent()).toBe("2,000");
    expect(await page.getByTestId("notice").textContent()).toContain("2,000 points redeemed for 2 × £10 gift card");

    // The vouchers: codes in full as the maker's API shows them, each QR code decoding to its code.
    const api = await hotel.call<Redemption>("GET", `/v1/redemptions/${redemptionId}`);
    expect(api).toMatchObject({ partner_id: hotelP.id, status: "issued", quantity: 2, points: 2_000 });
    const article = page.locator(`article[data-redemption="${redemptionId}"]`);
    const items = article.locator("li.voucher");
    expect(await items.count()).toBe(2);
    const shown: string[] = [];
    for (let i = 0; i < 2; i++) {
      const item = items.nth(i);
      const code = (await item.getByTestId("voucher-code").textContent())!.trim();
      expect(await qrOf(item)).toBe(code);
      expect(await item.textContent()).toContain(`Expires ${api.vouchers!.find((v) => v.code === code)!.expires_at.slice(0, 10)}`);
      expect(await item.textContent()).toContain("Ready to use");
      shown.push(code);
    }
    expect(shown.sort()).toEqual(api.vouchers!.map((v) => v.code).sort());

    // Refusals are messages on the confirmation page, and post nothing: over the per-member limit (2 held + 2 > 3)…
    const fieldsOf = async (path: string) => {
      const p = await context.newPage();
      await p.goto(`${server.url}${path}`);
      const f = { csrf: await p.locator("form[method=post] input[name=csrf]").last().inputValue(), nonce: await p.locator("input[name=nonce]").inputValue() };
      await p.close();
      return f;
    };
    const overLimit = await context.request.post(`${server.url}/portal/rewards/${giftCard.reward_id}/redeem`, {
      form: { ...(await fieldsOf(`/portal/rewards/${giftCard.reward_id}`)), quantity: "2" },
      maxRedirects: 0,
    });
    expect(overLimit.status()).toBe(422);
    expect(await overLimit.text()).toContain("You have reached the limit for this reward: at most 3 per member.");
    // …and out of stock since the page was shown.
    const coffeeFields = await fieldsOf(`/portal/rewards/${coffee.reward_id}`);
    await h.staff("admin").call("PATCH", `/v1/admin/rewards/${coffee.reward_id}`, { stock: 0 });
    const soldOut = await context.request.post(`${server.url}/portal/rewards/${coffee.reward_id}/redeem`, { form: { ...coffeeFields, quantity: "1" }, maxRedirects: 0 });
    expect(soldOut.status()).toBe(422);
    expect(await soldOut.text()).toContain("Sorry, this reward has just run out.");
    await h.staff("admin").call("PATCH", `/v1/admin/rewards/${coffee.reward_id}`, { stock: null });
    expect((await hotel.call<{ data: Redemption[] }>("GET", `/v1/redemptions?member=${m.member_id}`)).data).toHaveLength(1);

    // Another member's redemption is not this member's to see or cancel.
    const other = await hotel.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "guest-rw-2" });
    await hotel.call("POST", "/v1/earn", { member: other.member_id, amount_minor: 100_000, currency: "EUR", reference: "stay-rw-2" });
    const theirs = await hotel.call<Redemption>("POST", "/v1/redemptions", { member: other.member_id, reward_id: coffee.reward_id, reference: "theirs" });
    const peek = await context.request.get(`${server.url}/portal/my-rewards/${theirs.redemption_id}/cancel`);
    expect(peek.status()).toBe(404);
    expect(await peek.text()).not.toContain(theirs.vouchers![0]!.code);
    const ownFields = await fieldsOf(`/portal/my-rewards/${redemptionId}/cancel`);
    const notMine = await context.request.post(`${server.url}/portal/my-rewards/${theirs.redemption_id}/cancel`, { form: ownFields, maxRedirects: 0 });
    expect(notMine.status()).toBe(404);
    expect((await hotel.call<Redemption>("GET", `/v1/redemptions/${theirs.redemption_id}`)).status).toBe("issued");
    await auditUrl(axe, `/portal/my-rewards?redeemed=${redemptionId}`, "my-rewards");

    // Cancel, with a confirmation step: the points come back, the codes stop working, no QR code is left.
    await article.getByRole("link", { name: "Cancel this reward (£10 gift card)" }).click();
    await page.waitForURL(`${server.url}/portal/my-rewards/${redemptionId}/cancel`);
    expect(await page.getByTestId("refund").textContent()).toBe("2,000 points");
    await auditUrl(axe, `/portal/my-rewards/${redemptionId}/cancel`, "cancel");
    await page.getByRole("button", { name: "Yes, cancel it" }).click();
    await page.waitForURL(`${server.url}/portal/my-rewards?cancelled=${redemptionId}`);
    expect(await page.getByTestId("notice").textContent()).toContain("2,000 points are back in your balance");
    expect(await page.getByTestId("available").textContent()).toBe("4,000");
    expect(await article.getAttribute("data-status")).toBe("cancelled");
    expect(await article.locator("svg.qr").count()).toBe(0);
    expect(await article.getByRole("link", { name: /^Cancel/ }).count()).toBe(0);
    expect((await hotel.call<Redemption>("GET", `/v1/redemptions/${redemptionId}`)).status).toBe("cancelled");
    const used = await shop.request<{ code: string }>("POST", `/v1/vouchers/${shown[0]}/use`, { reference: "till-1" });
    expect([used.status, used.body.code]).toEqual([422, "voucher_not_usable"]);

    // An item: requested, then the supplier fulfils it; it can no longer be cancelled.
    await page.goto(`${server.url}/portal/rewards/${mug.reward_id}`);
    await page.getByRole("button", { name: "Confirm: redeem 1,500 points" }).click();
    await page.waitForURL(/redeemed=/);
    const mugId = new URL(page.url()).searchParams.get("redeemed")!;
    expect(await page.locator(`article[data-redemption="${mugId}"] .tag`).nth(1).textContent()).toBe("Requested");
    // A transfer needs the member's account number in that programme.
    await page.goto(`${server.url}/portal/rewards`);
    await page.getByRole("link", { name: "Redeem SkyMiles" }).click();
    await page.getByLabel("Your SkyMiles number").fill("SK 1234 5678");
    await auditUrl(axe, page.url().slice(server.url.length), "confirm-transfer");
    await page.getByRole("button", { name: "Confirm: redeem 800 points" }).click();
    await page.waitForURL(/redeemed=/);
    expect(await page.locator("article.highlight").textContent()).toContain("500 SkyMiles to account SK 1234 5678");
    await shop.call("POST", `/v1/redemptions/${mugId}/fulfil`, { reference: "parcel-77" });
    await page.reload();
    expect(await page.locator(`article[data-redemption="${mugId}"]`).textContent()).toContain("Delivered");
    expect(await page.getByRole("link", { name: "Cancel this reward (Travel mug)" }).count()).toBe(0);
    // A voucher again, kept: My rewards shows every kind.
    await page.goto(`${server.url}/portal/rewards/${giftCard.reward_id}`);
    await page.getByRole("button", { name: "Confirm: redeem 1,000 points" }).click();
    await page.waitForURL(/redeemed=/);
    expect(await page.getByTestId("available").textContent()).toBe("700"); // 4,000 − 1,500 − 800 − 1,000
    const keptId = new URL(page.url()).searchParams.get("redeemed")!;
    await auditUrl(axe, "/portal/my-rewards", "my-rewards-all");

    // A refusal is a message on the page (never a 500): the points went elsewhere after the page was shown.
    const refused = await axe.newPage();
    await refused.goto(`${server.url}/portal/rewards/${coffee.reward_id}`);
    await hotel.call("POST", "/v1/burn", { member: m.member_id, points: 400, reference: "room-service" });
    const [answer] = await Promise.all([refused.waitForResponse((r) => r.url().endsWith("/redeem")), refused.getByRole("button", { name: "Confirm: redeem 500 points" }).click()]);
    expect(answer.status()).toBe(422);
    expect(await refused.getByTestId("refusal").textContent()).toBe("You don't have enough points for this: you have 300 available.");
    expect(await refused.getByRole("alert").count()).toBeGreaterThan(0);
    await audit(refused, "refused");
    await refused.close();

    // The partner that opened the session is unlinked: rewards say so, and offer no redemption.
    // (A confirmation nonce minted before the unlinking; the member cannot afford the mug now, but the link is checked first.)
    const before = await fieldsOf(`/portal/my-rewards/${keptId}/cancel`);
    await hotel.call("DELETE", `/v1/members/${m.member_id}/link`);
    await page.goto(`${server.url}/portal/rewards`);
    expect(await page.getByRole("alert").textContent()).toContain("no longer linked to Aurora Hotels");
    expect(await page.getByRole("link", { name: /^Redeem/ }).count()).toBe(0);
    const unlinked = await context.request.post(`${server.url}/portal/rewards/${mug.reward_id}/redeem`, { form: { ...before, quantity: "1" }, maxRedirects: 0 });
    expect(unlinked.status()).toBe(422);
    expect(await unlinked.text()).toContain("no longer linked to Aurora Hotels");
    await page.screenshot({ path: join(SCREENSHOTS, "portal-rewards-unlinked-phone.png"), fullPage: true });

    // Strict CSP on every page, and nothing on them broke it.
    const res = await context.request.get(`${server.url}/portal/my-rewards`);
    expect(res.headers()["content-security-policy"]).toBe(PAGE_CSP);
    expect(await res.text()).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    expect(cspErrors).toEqual([]);
    await axe.close();
    await context.close();
    expect(await h.verify()).toEqual([]);
  });
});
