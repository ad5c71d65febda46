import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { NodePgSession, NodePgTransaction } from "drizzle-orm/node-postgres/session";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import WebSocket from "ws";
import * as schema from "./schema/index.js";
import type { Database, DbHandle } from "./database.js";
import { openNeon } from "./neon.js";
import { fixPooledTransactions } from "./pooled-transaction.js";

fixPooledTransactions(NodePgSession, NodePgTransaction, (client) => client instanceof pg.Pool);

export type DbTarget =
  /** Embedded Postgres; `dataDir` undefined means in memory. */
  | { kind: "pglite"; dataDir?: string | undefined; loadDataDir?: Blob }
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
      const unlock = target.dataDir ? lockDataDir(target.dataDir) : () => undefined;
      const client = new PGlite({ dataDir: target.dataDir, loadDataDir: target.loadDataDir });
      try {
        await client.waitReady;
      } catch (err) {
        unlock();
        throw err;
      }
      const db = drizzlePglite(client, { schema }) as unknown as Database;
      let closed = false;
      return {
        db,
        driver: "pglite",
        async close() {
          if (closed) return;
          closed = true;
          await client.close();
          unlock();
        },
      };
    }
    case "pg": {
      const pool = new pg.Pool({
        connectionString: target.url,
        max: target.max ?? 10,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
        // Every query settles: the server gives up after 30 s, the client after 35 s even if the
        // socket died silently (seen when the server restarts mid-query).
        statement_timeout: 30_000,
        query_timeout: 35_000,
      });
      pool.on("error", (err) => console.error("pg pool error:", err.message));
      // A checked-out client whose server goes away (restart, terminated backend) emits "error"
      // outside any query; without a listener that would crash the process. Its next query fails
      // instead, and the request answers 503.
      pool.on("connect", (client) => client.on("error", (err) => console.error("pg client error:", err.message)));
      const db = drizzlePg(pool, { schema }) as unknown as Database;
      let closed = false;
      return {
        db,
        driver: "pg",
        poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
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

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt
 * it. A pid file makes that a clear error instead ("stop npm start first").
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = `${dataDir.replace(/\/+$/, "")}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      return () => rmSync(lockFile, { force: true });
    } catch {
      const holder = Number(readFileSync(lockFile, "utf8"));
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new Error(`the embedded database in ${dataDir} is in use by process ${holder} (is \`npm start\` running?); stop it first`);
      }
      rmSync(lockFile, { force: true }); // left by a process that died
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
