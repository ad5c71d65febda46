/**
 * SQL as source code: every PL/pgSQL and SQL function (trigger functions included) has one
 * current definition in `sql/NN_concern.sql`. Versioned migrations carry schema and data changes
 * only; after them, the sources are applied in file order, in one transaction, whenever a file's
 * content changed (Flyway's "repeatable migrations"). `checkFunctionDrift` proves a database runs
 * exactly the sources: nothing differs, nothing is missing, nothing extra is defined.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DbHandle } from "./database.js";

export const FUNCTIONS_DIR = fileURLToPath(new URL("../../sql", import.meta.url));

export interface FunctionSource {
  file: string;
  sql: string;
  sha256: string;
}

/** The source files in the order they are applied (by their number). */
export function readFunctionSources(dir = FUNCTIONS_DIR): FunctionSource[] {
  return readdirSync(dir)
    .filter((f) => /^[0-9]{2}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, "utf8");
      return { file, sql, sha256: createHash("sha256").update(sql).digest("hex") };
    });
}

/** The function names each source file defines (`CREATE [OR REPLACE] FUNCTION name(`). */
export function definedNames(source: FunctionSource): string[] {
  return [...source.sql.matchAll(/create\s+(?:or\s+replace\s+)?function\s+(?:public\.)?([a-z_][a-z0-9_]*)\s*\(/gi)].map((m) => m[1]!.toLowerCase());
}

/** One connection's worth of SQL: the pg client or PGlite underneath a migration or a check. */
export interface SqlSession {
  /** Runs a script of several statements (simple protocol). */
  exec(text: string): Promise<void>;
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
}

/** Applies the sources if any file differs from what the database last applied; returns the files applied. */
export async function applyFunctionSources(session: SqlSession, sources = readFunctionSources()): Promise<string[]> {
  await session.exec("begin");
  try {
    const applied = await session.rows<{ file: string; sha256: string }>("select file, sha256 from schema_function_sources for update");
    const known = new Map(applied.map((r) => [r.file, r.sha256]));
    const changed = sources.filter((s) => known.get(s.file) !== s.sha256).map((s) => s.file);
    if (changed.length === 0 && known.size === sources.length) {
      await session.exec("commit");
      return [];
    }
    // All of them, in order: SQL-language bodies are checked against what exists when created.
    for (const source of sources) await session.exec(source.sql);
    await session.exec("delete from schema_function_sources");
    for (const source of sources)
      await session.rows("insert into schema_function_sources (file, sha256, applied_at) values ($1, $2, now())", [source.file, source.sha256]);
    await session.exec("commit");
    return changed;
  } catch (err) {
    await session.exec("rollback").catch(() => undefined);
    throw err;
  }
}

export interface Drift {
  function: string;
  problem: "differs from its source" | "missing from the database" | "defined in the database but in no source";
}

const DEFINITIONS = `
  select p.oid::regprocedure::text as signature, pg_get_functiondef(p.oid) as definition,
         p.xmin = pg_current_xact_id()::xid as touched
    from pg_proc p
   where p.pronamespace = 'public'::regnamespace and p.prokind in ('f', 'p')
     and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`;

/**
 * Compares the database's functions with the sources, changing nothing: inside a transaction
 * that is rolled back, it reads every definition, applies the sources over them, and reads
 * again. A function the sources rewrote to something else differs; one they define that was not
 * there is missing; one they did not touch is defined in no source.
 */
export async function checkFunctionDrift(session: SqlSession, sources = readFunctionSources()): Promise<Drift[]> {
  await session.exec("begin");
  try {
    const before = new Map((await session.rows<{ signature: string; definition: string }>(DEFINITIONS)).map((r) => [r.signature, r.definition]));
    for (const source of sources) await session.exec(source.sql);
    const after = await session.rows<{ signature: string; definition: string; touched: boolean }>(DEFINITIONS);
    const drift: Drift[] = [];
    for (const fn of after) {
      if (!fn.touched) drift.push({ function: fn.signature, problem: "defined in the database but in no source" });
      else if (!before.has(fn.signature)) drift.push({ function: fn.signature, problem: "missing from the database" });
      else if (before.get(fn.signature) !== fn.definition) drift.push({ function: fn.signature, problem: "differs from its source" });
    }
    return drift.sort((a, b) => a.function.localeCompare(b.function));
  } finally {
    await session.exec("rollback").catch(() => undefined);
  }
}

/** A session over a node-postgres client (a migration's dedicated connection, or one from a pool). */
export function pgSession(client: { query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }): SqlSession {
  return {
    exec: async (text) => void (await client.query(text)),
    rows: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[],
  };
}

/** A session over PGlite (one connection by nature). */
export function pgliteSession(client: { exec(text: string): Promise<unknown>; query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }> }): SqlSession {
  return {
    exec: async (text) => void (await client.exec(text)),
    rows: async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[],
  };
}

/** Runs `fn` on one connection of a Node handle (a pool client, or PGlite itself). */
export async function withSqlSession<T>(handle: DbHandle, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  const client = (handle.db as unknown as { $client: unknown }).$client;
  if (handle.driver === "pglite") return fn(pgliteSession(client as Parameters<typeof pgliteSession>[0]));
  const pool = client as { connect(): Promise<{ query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>; release(): void }> };
  const connection = await pool.connect();
  try {
    return await fn(pgSession(connection));
  } finally {
    connection.release();
  }
}
