import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type * as schema from "./schema/index.js";

/** The one Drizzle database type the domain code sees, whatever the driver underneath. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** A transaction handle: verbs take `Database | Tx` where they can run inside a caller's transaction. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type Executor = Database | Tx;

export type DriverKind = "pglite" | "pg" | "neon";

export interface DbHandle {
  db: Database;
  driver: DriverKind;
  /** Connection pool counters, where there is a pool (diagnostics). */
  poolStats?(): { total: number; idle: number; waiting: number };
  /** Releases the pool / embedded instance. Idempotent. */
  close(): Promise<void>;
}
