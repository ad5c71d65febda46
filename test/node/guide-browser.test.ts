/**
 * The partner guide (/docs/guide) and the problem pages (/problems) in real Chromium, at a
 * phone's width and a laptop's: accessible (axe-core, no serious or critical violation), no
 * horizontal scrolling of the page itself. Screenshots go to test-results/screenshots/.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { createTestContext, type TestContext } from "../support/app.js";
import { hasChromium, launchBrowser, SCREENSHOTS } from "../support/browser.js";
import { seriousViolations } from "../support/axe.js";

let t: TestContext;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  t = await createTestContext();
  browser = await launchBrowser();
  server = await serveNode({ config: { ...t.config, publicBaseUrl: undefined }, handle: t.db.handle, port: 0, jobs: false });
});
afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await server?.close();
  await t.close();
});

const PAGES = [
  ["guide-index", "/docs/guide"],
  ["guide-signing", "/docs/guide/signing"],
  ["guide-settlement", "/docs/guide/settlement"],
  ["problems-index", "/problems"],
  ["problem-insufficient-points", "/problems/insufficient_points"],
] as const;

describe.skipIf(!hasChromium)("guide and problem pages in Chromium", () => {
  for (const width of [390, 1280]) {
    it(`read well and pass axe-core at ${width} px`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      const page = await context.newPage();
      try {
        for (const [name, path] of PAGES) {
          const res = await page.goto(`${server.url}${path}`);
          expect(res?.status(), path).toBe(200);
          expect(await page.locator("h1").first().textContent()).toBeTruthy();
          // The page never scrolls sideways; wide tables and code scroll inside their own boxes.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow, `${path} at ${width}px`).toBeLessThanOrEqual(0);
          await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: name !== "guide-signing" });
          expect(await seriousViolations(page), path).toEqual([]);
        }
      } finally {
        await context.close();
      }
    });
  }
});
