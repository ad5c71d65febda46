import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATUS_BY_CODE } from "../../src/http/problem.js";
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

  it("names, per operation, exactly the problem codes it can return, and reads its operationIds as method names", async () => {
    type Response = { content?: Record<string, { schema: { allOf?: [unknown, { properties: { code: { enum: string[] } } }] } }> };
    const doc = async () => (await (await t.app.request("/openapi.json")).json()) as { paths: Record<string, Record<string, { operationId: string; responses: Record<string, Response> }>> };
    const first = await doc();
    const codes = (path: string, method: string, status: string) =>
      first.paths[path]![method]!.responses[status]?.content?.["application/problem+json"]?.schema.allOf?.[1].properties.code.enum;
    expect(first.paths["/v1/earn"]!.post!.operationId).toBe("createEarn");
    expect(first.paths["/v1/transactions"]!.get!.operationId).toBe("listTransactions");
    expect(codes("/v1/earn", "post", "422")).toEqual(
      ["credit_limit_exceeded", "explicit_points_not_allowed", "idempotency_key_required", "issuance_limit_reached", "prepaid_points_exhausted", "validation_failed"],
    );
    expect(codes("/v1/burn", "post", "422")).toContain("insufficient_points");
    expect(codes("/v1/earn", "post", "404")).toEqual(["member_not_found"]);
    expect(codes("/v1/earn", "post", "409")).toEqual(["idempotency_key_reused"]);
    expect(codes("/v1/earn", "post", "403")).toEqual(["partner_suspended", "role_forbidden"]);
    expect(codes("/v1/reports/liability", "get", "403")).toEqual(["role_forbidden"]);
    expect(codes("/v1/reports/liability", "get", "429")).toBeUndefined();
    expect(codes("/v1/earn", "post", "401")).toHaveLength(14);
    expect(codes("/health", "get", "401")).toBeUndefined();
    expect(codes("/v1/settlement-runs/{run_id}/finalize", "post", "422")).toContain("period_not_closed");
    // Every problem answer of every operation is described by code, with an enum a client can switch on.
    for (const [path, methods] of Object.entries(first.paths))
      for (const [method, op] of Object.entries(methods))
        for (const [status, response] of Object.entries(op.responses))
          if (Number(status) >= 400) expect(codes(path, method, status)?.length, `${method} ${path} ${status}`).toBeGreaterThan(0);
    // A second app over the same route configs serves the same document.
    createNodeApp(t.config, t.db.handle);
    expect(await doc()).toEqual(first);
  });

  it("bounds every string, integer and array a request can carry", async () => {
    type Schema = Record<string, unknown> & { $ref?: string; properties?: Record<string, Schema>; items?: Schema; allOf?: Schema[]; anyOf?: Schema[]; oneOf?: Schema[] };
    const doc = (await (await t.app.request("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { parameters?: { name: string; schema: Schema }[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
      components: { schemas: Record<string, Schema> };
    };
    const unbounded: string[] = [];
    const walk = (schema: Schema, where: string, seen: Set<string>): void => {
      if (schema.$ref) {
        const name = schema.$ref.split("/").pop()!;
        if (!seen.has(name)) walk(doc.components.schemas[name]!, `${where}→${name}`, new Set([...seen, name]));
        return;
      }
      for (const part of [...(schema.allOf ?? []), ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) walk(part, where, seen);
      const types = ([] as unknown[]).concat(schema.type ?? []);
      if (types.includes("string") && schema.maxLength === undefined && !schema.enum && schema.const === undefined) unbounded.push(`${where}: string`);
      if (types.includes("integer") && (schema.minimum === undefined || schema.maximum === undefined)) unbounded.push(`${where}: integer`);
      if (types.includes("array") && schema.maxItems === undefined) unbounded.push(`${where}: array`);
      for (const [name, property] of Object.entries(schema.properties ?? {})) walk(property, `${where}.${name}`, seen);
      if (schema.items) walk(schema.items, `${where}[]`, seen);
    };
    let inputs = 0;
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(methods)) {
        for (const parameter of op.parameters ?? []) (inputs++, walk(parameter.schema, `${method} ${path} ${parameter.name}`, new Set()));
        for (const media of Object.values(op.requestBody?.content ?? {})) (inputs++, walk(media.schema, `${method} ${path} body`, new Set()));
      }
    expect(inputs).toBeGreaterThan(40);
    expect(unbounded).toEqual([]);
  });

  it("serves a page for every problem type URI, saying what the code means and what to do", async () => {
    const refused = await t.app.request("/v1/earn", { method: "POST" });
    const problem = (await refused.json()) as { type: string; code: string };
    expect(problem.type).toBe(`http://coalesce.test/problems/${problem.code}`);
    for (const code of Object.keys(STATUS_BY_CODE)) {
      const page = await t.app.request(new URL(`http://coalesce.test/problems/${code}`).pathname);
      expect(page.status, code).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      const text = await page.text();
      expect(text).toContain(`<code>${code}</code>`);
      expect(text).toContain("What to do");
    }
    const index = await (await t.app.request("/problems")).text();
    for (const code of Object.keys(STATUS_BY_CODE)) expect(index).toContain(`href="/problems/${code}"`);
    const unknown = await t.app.request("/problems/no_such_code");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toBe("application/problem+json");
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
