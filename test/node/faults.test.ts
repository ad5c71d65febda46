/**
 * Faults on real Postgres: a load of earns, burns and holds whose clients retry with the same
 * Idempotency-Key while the app's database connections are killed (pg_terminate_backend).
 * Afterwards every acknowledged posting is present exactly once, balances equal a client-side
 * model, and every invariant holds. (Restarting the server itself is left to `npm run soak`,
 * which runs alone: other test files share the server.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sql } from "drizzle-orm";
import { PartnerClient, randomId } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/client.js";
import type { DbHandle } from "../../src/db/database.js";
import { serveNode, type RunningServer } from "../../src/entry/node.js";
import { createHarness, type Harness, type TestPartner } from "../support/harness.js";

const onServer = inject("dbMode") === "pg";
let h: Harness;
let p: TestPartner;
let appHandle: DbHandle;
let server: RunningServer;

beforeAll(async () => {
  if (!onServer) return;
  h = await createHarness();
  p = await h.partner({ allow_explicit_points: true });
  appHandle = await openDatabase({ kind: "pg", url: `${h.db.url!}?application_name=coalesce-fault-app`, max: 8 });
  server = await serveNode({ config: h.config, handle: appHandle, port: 0, jobs: false });
});
afterAll(async () => {
  if (!onServer) return;
  await server.close();
  await appHandle.close();
  await h.close();
});

interface Op {
  kind: "earn" | "burn" | "hold";
  member: string;
  points: number;
  reference: string;
  key: string;
}

describe.skipIf(!onServer)("faults: connections killed under load", () => {
  it("loses nothing, doubles nothing, and answers 503 with Retry-After while the database is away", async () => {
    const client = new PartnerClient({ baseUrl: server.url, issuer: p.id, privateJwk: p.privateJwk });
    const members: string[] = [];
    for (let i = 0; i < 8; i++) members.push((await client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: `fault-${i}` })).member_id);
    let seed = 99;
    const rand = (k: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % k);
    const ops: Op[] = Array.from({ length: 400 }, (_, i) => ({
      kind: (["earn", "earn", "burn", "hold"] as const)[rand(4)]!,
      member: members[rand(members.length)]!,
      points: 1 + rand(50),
      reference: `fault-op-${i}`,
      key: randomId(),
    }));

    let stop = false;
    let killed = 0;
    const killer = (async () => {
      const admin = await openDatabase({ kind: "pg", url: h.db.url!, max: 1 });
      while (!stop) {
        await new Promise((r) => setTimeout(r, 40 + rand(60)));
        const r = (await admin.db.execute(
          sql`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name = 'coalesce-fault-app' and pid <> pg_backend_pid()`,
        )) as unknown as { rows: { n: number }[] };
        killed += r.rows[0]!.n;
      }
      await admin.close();
    })();

    const unavailable: { status: number; retryAfter: string | null; body: unknown }[] = [];
    const outcomes = new Map<string, { status: number; code?: string; credited?: number }>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ops.length) {
          const op = ops[next++]!;
          const body =
            op.kind === "earn"
              ? { member: op.member, amount_minor: 100, currency: "EUR", reference: op.reference, points: op.points }
              : { member: op.member, points: op.points, reference: op.reference };
          for (let attempt = 0; attempt < 50; attempt++) {
            const res = await client
              .request<{ code?: string; transaction?: { points: number } }>("POST", op.kind === "earn" ? "/v1/earn" : op.kind === "burn" ? "/v1/burn" : "/v1/holds", body, { idempotencyKey: op.key })
              .catch(() => ({ status: 0, headers: new Headers(), body: {} as { code?: string; transaction?: { points: number } }, replayed: false }));
            if (res.status >= 500 || res.status === 0) {
              if (res.status) unavailable.push({ status: res.status, retryAfter: res.headers.get("retry-after"), body: res.body });
              await new Promise((r) => setTimeout(r, 10));
              continue;
            }
            // An earn credits base plus any tier bonus: the answer says how much.
            outcomes.set(op.reference, { status: res.status, code: res.body.code, credited: res.body.transaction?.points });
            break;
          }
        }
      }),
    );
    stop = true;
    await killer;

    expect(killed).toBeGreaterThan(0);
    expect(unavailable.length, "some requests met a killed connection and were told to retry").toBeGreaterThan(0);
    expect(outcomes.size).toBe(ops.length); // every operation got a definitive answer through retries
    for (const u of unavailable) {
      expect(u.status).toBe(503);
      expect(Number(u.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify(u.body)).not.toMatch(/terminat|administrator|ECONN/i);
    }

    // Each acknowledged posting exactly once; refused ones not at all.
    const rows = (await h.db.handle.db.execute(sql`select reference, count(*)::int as n from postings where reference like 'fault-op-%' group by reference`)) as unknown as {
      rows: { reference: string; n: number }[];
    };
    const present = new Map(rows.rows.map((r) => [r.reference, r.n]));
    const model = new Map(members.map((m) => [m, { available: 0, held: 0 }]));
    for (const op of ops) {
      const o = outcomes.get(op.reference)!;
      if (o.status === 201) {
        expect(present.get(op.reference), op.reference).toBe(1);
        const b = model.get(op.member)!;
        if (op.kind === "earn") b.available += o.credited!;
        else {
          b.available -= op.points;
          if (op.kind === "hold") b.held += op.points;
        }
      } else {
        expect([o.status, o.code]).toEqual([422, "insufficient_points"]);
        expect(present.get(op.reference)).toBeUndefined();
      }
    }
    for (const [m, b] of model) {
      const r = (await h.db.handle.db.execute(sql`select available::int, held::int from members where id = ${m}`)) as unknown as { rows: { available: number; held: number }[] };
      expect(r.rows[0]).toEqual(b);
    }
    expect(await h.verify()).toEqual([]);
  });
});
