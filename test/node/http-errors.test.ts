import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRoute, z } from "@hono/zod-openapi";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { DomainError } from "../../src/errors.js";
import { openTestDatabase, type TestDatabase } from "../support/database.js";

// A fixture route through the same pipeline every API route uses: strict zod body, defaultHook, onError.
const echo = createRoute({
  method: "post",
  path: "/fixture/echo",
  operationId: "echoFixture",
  request: {
    body: { required: true, content: { "application/json": { schema: z.strictObject({ points: z.int().min(1).max(1_000_000_000) }) } } },
  },
  responses: { 200: { description: "ok" } },
});

let db: TestDatabase;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  db = await openTestDatabase();
  const config = loadConfig({ ENVIRONMENT: "test" });
  app = createApp({
    services: () => ({ services: { config, db: () => db.handle.db, now: () => new Date() }, finish: async () => undefined }),
    mountBefore: (a) => {
      a.openapi(echo, (c) => c.json({ points: c.req.valid("json").points }, 200));
      a.get("/fixture/boom", () => {
        throw Object.assign(new Error('relation "secret_table" does not exist at character 15'), { code: "42P01" });
      });
      a.get("/fixture/db-down", () => {
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      });
      a.get("/fixture/refused", () => {
        throw new DomainError("insufficient_points", "The member has 10 points available; 20 were asked for.");
      });
    },
  });
});
afterAll(() => db.dispose());

async function problem(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status: res.status });
  expect(typeof body.type).toBe("string");
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(body.request_id).toMatch(/^req_[0-9a-z]{26}$/);
  expect(res.headers.get("x-request-id")).toBe(body.request_id);
  return body;
}

const json = (body: string, headers: Record<string, string> = {}) => ({
  method: "POST",
  body,
  headers: { "content-type": "application/json", ...headers },
});

describe("every error is problem+json", () => {
  it("404 for an unknown path", async () => {
    const res = await app.request("/v1/does-not-exist");
    expect(res.status).toBe(404);
    expect(await problem(res)).toMatchObject({ code: "not_found" });
  });

  it("405 with Allow for a known path and the wrong method", async () => {
    const res = await app.request("/health", { method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await problem(res)).toMatchObject({ code: "method_not_allowed" });
  });

  it("accepts a body of exactly 65,536 bytes and refuses 65,537 with 413", async () => {
    const at = JSON.stringify({ points: 5 }).padEnd(65_536, " ");
    expect(Buffer.byteLength(at)).toBe(65_536);
    const ok = await app.request("/fixture/echo", json(at));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ points: 5 });

    const over = await app.request("/fixture/echo", json(at + " "));
    expect(over.status).toBe(413);
    expect(await problem(over)).toMatchObject({ code: "payload_too_large" });
  });

  it("413 also when no Content-Length is sent (streamed body)", async () => {
    const chunk = new TextEncoder().encode("x".repeat(16_384));
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent++ >= 5) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const res = await app.request(
      new Request("http://localhost/fixture/echo", {
        method: "POST",
        body: stream,
        headers: { "content-type": "application/json" },
        duplex: "half",
      } as RequestInit),
    );
    expect(res.status).toBe(413);
    await problem(res);
  });

  it("400 malformed_request for a body that is not JSON", async () => {
    const res = await app.request("/fixture/echo", json('{"points": 5'));
    expect(res.status).toBe(400);
    expect(await problem(res)).toMatchObject({ code: "malformed_request" });
  });

  it("415 for a body that is not application/json", async () => {
    const res = await app.request("/fixture/echo", { method: "POST", body: "points=5", headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
    expect(await problem(res)).toMatchObject({ code: "unsupported_media_type" });
  });

  it("422 validation_failed naming each field, unknown fields included", async () => {
    const res = await app.request("/fixture/echo", json(JSON.stringify({ points: 0, partner_id: "someone-else" })));
    expect(res.status).toBe(422);
    const body = await problem(res);
    expect(body.code).toBe("validation_failed");
    const paths = (body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["partner_id", "points"]);
  });

  it("422 for a float where an integer is required", async () => {
    const res = await app.request("/fixture/echo", json(JSON.stringify({ points: 1.5 })));
    expect(res.status).toBe(422);
  });

  it("maps a typed domain error to its status and code", async () => {
    const res = await app.request("/fixture/refused");
    expect(res.status).toBe(422);
    expect(await problem(res)).toMatchObject({ code: "insufficient_points", detail: expect.stringContaining("10 points") });
  });

  it("never shows driver text or a stack trace for an unexpected error", async () => {
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      const res = await app.request("/fixture/boom");
      expect(res.status).toBe(500);
      const text = await res.clone().text();
      expect(text).not.toMatch(/secret_table|42P01|at character|\.ts:/);
      expect(await problem(res)).toMatchObject({ code: "internal_error" });
    } finally {
      console.error = original;
    }
    expect(errors.length).toBeGreaterThan(0); // logged on the server instead
  });

  it("answers 503 with Retry-After when the database is unreachable", async () => {
    const original = console.error;
    console.error = () => undefined;
    try {
      const res = await app.request("/fixture/db-down");
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const body = await problem(res);
      expect(body.code).toBe("service_unavailable");
      expect(JSON.stringify(body)).not.toContain("ECONNREFUSED");
    } finally {
      console.error = original;
    }
  });
});
