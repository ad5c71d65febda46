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
    // Every operation has a unique operationId; public routes say they need no signature.
    const ids = ops.map(({ op }) => (op as Op & { operationId?: string }).operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect((doc.paths["/health"]!.get as Op & { security?: unknown[] }).security).toEqual([]);
    // Headers integrators read: the request id everywhere, Retry-After on 429/503, Idempotent-Replayed on replays.
    const earn = doc.paths["/v1/earn"]!.post!.responses as Record<string, { headers?: Record<string, unknown> }>;
    expect(Object.keys(earn["201"]!.headers ?? {})).toEqual(expect.arrayContaining(["X-Request-Id", "Idempotent-Replayed"]));
    expect(Object.keys(earn["429"]!.headers ?? {})).toContain("Retry-After");
    expect(Object.keys(earn["503"]!.headers ?? {})).toContain("Retry-After");
    // Building another app does not stack the shared route configs' annotations.
    createNodeApp(t.config, t.db.handle);
    const again = (await (await t.app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, Op>> };
    const desc = (again.paths["/v1/admin/partners"]!.post!.responses["409"] as { description: string }).description;
    expect(desc.match(/idempotency_key_reused/g)).toHaveLength(1);
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
