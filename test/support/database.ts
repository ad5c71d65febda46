import { readFileSync } from "node:fs";
import { inject } from "vitest";
import { openDatabase } from "../../src/db/client.js";
import type { DbHandle } from "../../src/db/database.js";
import { adminQuery, databaseUrl, quoteIdent, uniqueName } from "./pg.js";

export interface TestDatabase {
  handle: DbHandle;
  /** postgres:// URL of this file's database (undefined on PGlite). */
  url: string | undefined;
  mode: "pg" | "pglite";
  /** Closes the handle and drops the database. */
  dispose(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: a clone of the run's template on Postgres,
 * or a PGlite instance loaded from the migrated image. Nothing is shared between files.
 */
export async function openTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  if (inject("dbMode") === "pg") {
    const server = inject("pgServerUrl");
    const name = uniqueName("coalesce_t");
    await adminQuery(server, `create database ${quoteIdent(name)} template ${quoteIdent(inject("pgTemplate"))}`);
    const url = databaseUrl(server, name);
    const handle = await openDatabase({ kind: "pg", url, max: options.max ?? 10 });
    return {
      handle,
      url,
      mode: "pg",
      async dispose() {
        await handle.close();
        await adminQuery(server, `drop database if exists ${quoteIdent(name)} with (force)`);
      },
    };
  }
  const image = new Blob([readFileSync(inject("pgliteImage"))]);
  const handle = await openDatabase({ kind: "pglite", loadDataDir: image });
  return { handle, url: undefined, mode: "pglite", dispose: () => handle.close() };
}
