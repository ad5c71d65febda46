import { mkdirSync } from "node:fs";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import WebSocket from "ws";
import * as schema from "./schema/index.js";
import type { Database, DbHandle } from "./database.js";
import { openNeon } from "./neon.js";

export type DbTarget =
  /** Embedded Postgres; `dataDir` undefined means in memory. */
  | { kind: "pglite"; dataDir?: string | undefined }
  | { kind: "pg"; url: string; max?: number }
  | { kind: "neon"; url: string; wsProxy?: string | undefined; max?: number };

/**
 * The factory for Node processes: the same Drizzle database over PGlite, node-postgres
 * or the Neon driver. The Worker entry uses `openNeon` directly, so its bundle carries
 * neither pg nor PGlite.
 */
export async function openDatabase(target: DbTarget): Promise<DbHandle> {
  switch (target.kind) {
    case "pglite": {
      if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
      const client = target.dataDir ? new PGlite(target.dataDir) : new PGlite();
      await client.waitReady;
      const db = drizzlePglite(client, { schema }) as unknown as Database;
      let closed = false;
      return {
        db,
        driver: "pglite",
        async close() {
          if (closed) return;
          closed = true;
          await client.close();
        },
      };
    }
    case "pg": {
      const pool = new pg.Pool({
        connectionString: target.url,
        max: target.max ?? 10,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
      });
      pool.on("error", (err) => console.error("pg pool error:", err.message));
      const db = drizzlePg(pool, { schema }) as unknown as Database;
      let closed = false;
      return {
        db,
        driver: "pg",
        async close() {
          if (closed) return;
          closed = true;
          await pool.end();
        },
      };
    }
    case "neon":
      return openNeon({ url: target.url, wsProxy: target.wsProxy, webSocketConstructor: WebSocket, max: target.max });
  }
}

/** DATABASE_URL present → node-postgres; absent → PGlite persisted under `dataDir`. */
export function targetFromEnv(databaseUrl: string | undefined, dataDir: string): DbTarget {
  return databaseUrl ? { kind: "pg", url: databaseUrl } : { kind: "pglite", dataDir };
}
