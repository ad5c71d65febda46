import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";

const pg = inject("workersPg");
// The Worker's own default export (src/entry/worker.ts), running in this workerd isolate.
const worker = (exports as unknown as { default: { fetch(input: string, init?: RequestInit): Promise<Response> } }).default;

describe.skipIf(!pg.available)("the Worker in workerd", () => {
  it("answers /health after a database round trip through @neondatabase/serverless", async () => {
    const before = (await (await fetch(pg.statsUrl)).json()) as { connections: number; bytesToClient: number };
    const res = await worker.fetch("http://coalesce.test/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: { database: { status: string } } };
    expect(body.status).toBe("ok");
    expect(body.checks.database.status).toBe("ok");
    // The Worker only links the Neon driver; the proxy in front of Postgres saw its tunnel open and carry bytes.
    const after = (await (await fetch(pg.statsUrl)).json()) as { connections: number; bytesToClient: number };
    expect(after.connections).toBeGreaterThan(before.connections);
    expect(after.bytesToClient).toBeGreaterThan(before.bytesToClient);
  });
});

describe("the Worker's HTTP surface (no database needed)", () => {
  it("answers unknown paths with problem+json 404", async () => {
    const res = await worker.fetch("http://coalesce.test/v1/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as { code: string; request_id: string };
    expect(body.code).toBe("not_found");
    expect(body.request_id).toMatch(/^req_/);
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const res = await worker.fetch("http://coalesce.test/health", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("GET");
  });

  it("serves the OpenAPI document", async () => {
    const res = await worker.fetch("http://coalesce.test/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/health");
  });
});

describe.skipIf(!pg.available)("the Worker's cron trigger", () => {
  it("runs the periodic jobs against Postgres through the Neon driver", async () => {
    const { createScheduledController, createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    // The Worker module itself, in this workerd isolate (the cron trigger calls exactly this export).
    const worker = (await import("../../src/entry/worker.js")).default;
    const { env } = await import("cloudflare:workers");
    const logs: string[] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => logs.push(args.map(String).join(" "));
    try {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
      await waitOnExecutionContext(ctx);
    } finally {
      console.log = original;
    }
    const report = logs.find((l) => l.startsWith("scheduled jobs:"));
    expect(report).toBeDefined();
    const parsed = JSON.parse(report!.slice("scheduled jobs:".length)) as Record<string, { processed?: number; error?: string }>;
    expect(Object.keys(parsed)).toEqual(["release_pending_and_expire_holds", "expire_points", "expire_vouchers", "deliver_webhooks", "prune_expired_records"]);
    for (const result of Object.values(parsed)) expect(result.error).toBeUndefined();
  });
});
