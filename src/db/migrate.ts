import { fileURLToPath } from "node:url";
import pg from "pg";
import { drizzle } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { DbHandle } from "./database.js";
import { applyFunctionSources, pgSession, withSqlSession } from "./functions.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations", import.meta.url));

// Any constant: serialises concurrent migrators (two servers starting at once) on one database.
const MIGRATION_LOCK = 7_310_001;

/**
 * Applies every migration in `migrations/` the database has not seen, in order, once, then the
 * SQL sources in `sql/` if any changed (`src/db/functions.ts`). Against a server (Postgres, Neon)
 * it uses one dedicated connection holding an advisory lock, so two processes starting together
 * do not race.
 */
export async function migrateDatabase(target: { kind: "pglite"; handle: DbHandle } | { kind: "url"; url: string }): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_DIR };
  if (target.kind === "pglite") {
    await migratePglite(target.handle.db as never, config);
    await withSqlSession(target.handle, (session) => applyFunctionSources(session));
    return;
  }
  const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await client.query("set client_min_messages = warning");
    await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await migratePg(drizzle(client) as never, config);
    await applyFunctionSources(pgSession(client));
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    await client.end();
  }
}

/** Convenience for Node processes holding a handle: migrate whatever it points at. */
export async function migrateHandle(handle: DbHandle, url: string | undefined): Promise<void> {
  if (handle.driver === "pglite") return migrateDatabase({ kind: "pglite", handle });
  if (!url) throw new Error("a server database needs its URL to migrate");
  return migrateDatabase({ kind: "url", url });
}
