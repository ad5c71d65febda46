/**
 * `npm run db:check`: does the database run exactly the SQL sources in `sql/`? Against
 * DATABASE_URL (Postgres or Neon over TCP), or the embedded database when it is unset. Changes
 * nothing (the comparison runs in a transaction that is rolled back); exits 1 on any drift.
 */
import { join } from "node:path";
import pg from "pg";
import { openDatabase } from "../src/db/client.js";
import { checkFunctionDrift, pgSession, withSqlSession, type Drift } from "../src/db/functions.js";
import { DEFAULT_DATA_DIR } from "../src/dev/bootstrap.js";

async function check(): Promise<Drift[]> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return await checkFunctionDrift(pgSession(client));
    } finally {
      await client.end();
    }
  }
  const handle = await openDatabase({ kind: "pglite", dataDir: join(process.env.DATA_DIR || DEFAULT_DATA_DIR, "pglite") });
  try {
    return await withSqlSession(handle, (session) => checkFunctionDrift(session));
  } finally {
    await handle.close();
  }
}

try {
  const drift = await check();
  if (drift.length === 0) {
    console.log("db:check: every function in the database equals its source in sql/, and nothing else is defined");
  } else {
    console.error(`db:check: ${drift.length} function(s) drifted from sql/:`);
    for (const d of drift) console.error(`  ${d.function}: ${d.problem}`);
    console.error("Run `npm run db:migrate` after changing sql/, and never change functions by hand.");
    process.exit(1);
  }
} catch (err) {
  console.error("db:check failed:", err instanceof Error ? err.message : err);
  process.exit(2);
}
