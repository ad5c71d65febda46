import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeApp } from "../../src/entry/node.js";
import { loadConfig } from "../../src/config.js";
import { openDatabase } from "../../src/db/client.js";
import { createTestContext, type TestContext } from "../support/app.js";

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(() => t.close());

describe("GET /health", () => {
  it("is 200 after a database round trip", async () => {
    const res = await t.app.request("/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: { database: { status: string; latency_ms: number } } };
    expect(body.status).toBe("ok");
    expect(body.checks.database.status).toBe("ok");
    expect(Number.isInteger(body.checks.database.latency_ms)).toBe(true);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("is 503 problem+json, without driver text, when the database is gone", async () => {
    const dead = await openDatabase({ kind: "pg", url: "postgres://nobody@127.0.0.1:1/none" });
    const app = createNodeApp(loadConfig({ ENVIRONMENT: "test" }), dead);
    const original = console.error;
    console.error = () => undefined;
    try {
      const res = await app.request("/health");
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.headers.get("retry-after")).toBeTruthy();
      const text = await res.text();
      expect(text).toContain("service_unavailable");
      expect(text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    } finally {
      console.error = original;
      await dead.close();
    }
  });
});

describe("API description", () => {
  it("serves an OpenAPI 3.1 document", async () => {
    const res = await t.app.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; info: { title: string }; paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/health"]).toBeDefined();
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it("declares what integrators' tools need: 409 on every idempotent POST, integer limits, servers, the problem codes", async () => {
    type Op = { parameters?: { name: string; in: string; schema: { type?: string } }[]; responses: Record<string, unknown> };
    const doc = (await (await t.app.request("/openapi.json")).json()) as {
      servers: { url: string }[];
      paths: Record<string, Record<string, Op>>;
      components: { schemas: { Problem: { properties: { code: { enum: string[] } } } } };
    };
    expect(doc.servers).toEqual([{ url: "http://coalesce.test" }]);
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ key: `${method} ${path}`, op })));
    const idempotent = ops.filter(({ op }) => op.parameters?.some((p) => p.name === "idempotency-key"));
    expect(idempotent.length).toBeGreaterThanOrEqual(14);
    expect(idempotent.filter(({ op }) => !op.responses["409"]).map(({ key }) => key)).toEqual([]);
    const limits = ops.flatMap(({ key, op }) => (op.parameters ?? []).filter((p) => p.name === "limit").map((p) => ({ key, type: p.schema.type })));
    expect(limits.length).toBeGreaterThanOrEqual(3);
    expect(limits.filter((l) => l.type !== "integer")).toEqual([]);
    expect(doc.components.schemas.Problem.properties.code.enum).toEqual(expect.arrayContaining(["validation_failed", "idempotency_key_reused", "insufficient_points", "rate_limited"]));
  });

  it("serves /docs and every file it loads from this origin, with no CDN", async () => {
    const res = await t.app.request("/docs");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref.startsWith("/"), `${ref} must be same-origin`).toBe(true);
      const asset = await t.app.request(ref);
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(100);
    }
  });
});
