import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sql, type SQL } from "drizzle-orm";
import type { Executor } from "../../src/db/database.js";
import { openDatabase, type DbTarget } from "../../src/db/client.js";
import { migrateDatabase } from "../../src/db/migrate.js";
import { partners } from "../../src/db/schema/index.js";
import { openTestDatabase, type TestDatabase } from "../support/database.js";
import { startWsProxy, type WsProxy } from "../support/ws-proxy.js";

async function count(db: Executor, query: SQL): Promise<number> {
  const result = (await db.execute(query)) as unknown as { rows: { n: number }[] };
  return result.rows[0]!.n;
}

let t: TestDatabase;
let proxy: WsProxy | undefined;
beforeAll(async () => {
  t = await openTestDatabase();
  if (t.url) proxy = await startWsProxy();
});
afterAll(async () => {
  await proxy?.close();
  await t.dispose();
});

describe("one factory, three connections, the same Drizzle database", () => {
  const onServer = inject("dbMode") === "pg";
  const cases: [string, boolean, () => DbTarget][] = [
    ["pglite (in memory)", false, () => ({ kind: "pglite" })],
    ["node-postgres", true, () => ({ kind: "pg", url: t.url! })],
    ["@neondatabase/serverless via a ws proxy", true, () => ({ kind: "neon", url: t.url!, wsProxy: proxy!.url })],
  ];

  it.for(cases.map((c, index) => ({ label: c[0], needsServer: c[1], target: c[2], index })))(
    "$label: typed query and exact numerics round-trip",
    async ({ label, needsServer, target: makeTarget, index }, ctx) => {
    if (needsServer && !onServer) ctx.skip("needs a Postgres server (DATABASE_URL)");
    const target = makeTarget();
    const handle = await openDatabase(target);
    try {
      if (target.kind === "pglite") await migrateDatabase({ kind: "pglite", handle });
      const id = `driver-check-${index}`;
      await handle.db.insert(partners).values({
        id,
        name: label,
        category: "test",
        settlementCurrency: "EUR",
        billing: "issuance",
        issuePricePerPoint: "0.000001",
        redemptionPricePerPoint: "12345678901234.999999",
        settlementPeriod: "monthly",
        prepaidPoints: 9_007_199_254_740_993n, // above 2^53: must not pass through a float
        document: { id },
      });
      const [row] = await handle.db.select().from(partners).where(sql`${partners.id} = ${id}`);
      expect(row?.redemptionPricePerPoint).toBe("12345678901234.999999");
      expect(row?.issuePricePerPoint).toBe("0.000001");
      expect(row?.prepaidPoints).toBe(9_007_199_254_740_993n);
      const tx = await handle.db.transaction(async (trx) => {
        return count(trx, sql`select count(*)::int as n from partners where id = ${id}`);
      });
      expect(tx).toBe(1);
      if (target.kind === "neon") expect(proxy!.stats.connections).toBeGreaterThan(0);
    } finally {
      await handle.close();
    }
  });
});

describe("migrations", () => {
  it("are idempotent: applying them again changes nothing", async () => {
    const applied = sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const before = await count(t.handle.db, applied);
    if (t.url) await migrateDatabase({ kind: "url", url: t.url });
    else await migrateDatabase({ kind: "pglite", handle: t.handle });
    const after = await count(t.handle.db, applied);
    expect(after).toBe(before);
    expect(after).toBeGreaterThan(0);
  });

  it.runIf(process.env.DATABASE_URL)("two processes migrating one database at once do not race", async () => {
    const fresh = await openTestDatabase();
    try {
      await Promise.all([migrateDatabase({ kind: "url", url: fresh.url! }), migrateDatabase({ kind: "url", url: fresh.url! })]);
      expect(await count(fresh.handle.db, sql`select count(*)::int as n from partners`)).toBe(0);
    } finally {
      await fresh.dispose();
    }
  });

  it("the database refuses a partner id that is not a slug, whatever the code above does", async () => {
    await expect(
      t.handle.db.insert(partners).values({
        id: "Not A Slug",
        name: "x",
        category: "x",
        settlementCurrency: "EUR",
        billing: "issuance",
        issuePricePerPoint: "1",
        redemptionPricePerPoint: "1",
        settlementPeriod: "monthly",
        document: {},
      }),
    ).rejects.toThrow();
  });
});
