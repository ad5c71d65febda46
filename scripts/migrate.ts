/**
 * `npm run db:migrate`: applies migrations/ to DATABASE_URL (Postgres or Neon over TCP),
 * or to the embedded PGlite under .data/ when it is unset.
 */
import { join } from "node:path";
import { openDatabase } from "../src/db/client.js";
import { migrateDatabase } from "../src/db/migrate.js";
import { DEFAULT_DATA_DIR } from "../src/dev/bootstrap.js";

const url = process.env.DATABASE_URL;
try {
  if (url) {
    await migrateDatabase({ kind: "url", url });
    console.log(`migrations applied to ${new URL(url).host}${new URL(url).pathname}`);
  } else {
    const dataDir = join(process.env.DATA_DIR || DEFAULT_DATA_DIR, "pglite");
    const handle = await openDatabase({ kind: "pglite", dataDir });
    await migrateDatabase({ kind: "pglite", handle });
    await handle.close();
    console.log(`migrations applied to the embedded database in ${dataDir}`);
  }
} catch (err) {
  console.error("migration failed:", err instanceof Error ? err.message : err);
  process.exit(1);
}
