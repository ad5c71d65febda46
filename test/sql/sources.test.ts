/**
 * SQL as source code: every function has exactly one definition, in `sql/`; a migrated database
 * runs exactly those (the drift check), a hand-made change is caught, changed sources are applied
 * again, and no migration from now on carries a function body.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { applyFunctionSources, checkFunctionDrift, definedNames, FUNCTIONS_DIR, readFunctionSources, withSqlSession } from "../../src/db/functions.js";
import { MIGRATIONS_DIR } from "../../src/db/migrate.js";
import { createHarness, type Harness } from "../support/harness.js";
import { STATUS_BY_CODE } from "../../src/http/problem.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

// The last migration written before function bodies moved to sql/; none after it may hold one.
const LAST_MIGRATION_WITH_FUNCTIONS = "0026_plpgsql_helpers.sql";

describe("SQL sources", () => {
  it("define each function exactly once, and every source file defines something", () => {
    const where = new Map<string, string[]>();
    for (const source of readFunctionSources()) {
      const names = definedNames(source);
      expect(names.length, source.file).toBeGreaterThan(0);
      for (const name of names) where.set(name, [...(where.get(name) ?? []), source.file]);
    }
    const twice = [...where].filter(([, files]) => files.length > 1);
    expect(twice).toEqual([]);
    expect(where.size).toBeGreaterThanOrEqual(38);
  });

  it("every refusal code the SQL can raise has its status in the one code table", () => {
    const codes = new Set<string>();
    for (const source of readFunctionSources()) {
      for (const m of source.sql.matchAll(/ledger_refusal\(\s*'([a-z_]+)'/g)) codes.add(m[1]!);
      for (const m of source.sql.matchAll(/ERRCODE = 'CLR01', MESSAGE = '([a-z_]+)'/g)) codes.add(m[1]!);
    }
    expect(codes.size).toBeGreaterThan(10);
    const unmapped = [...codes].filter((c) => !(c in STATUS_BY_CODE));
    expect(unmapped).toEqual([]);
    // And the SQL speaks no HTTP: no status codes in SQLSTATEs, no problem bodies.
    for (const source of readFunctionSources()) {
      expect(source.sql, source.file).not.toMatch(/ERRCODE = 'CL[0-9]{3}'|'CL' \|\||problem_base|'status', [0-9]{3}/);
    }
  });

  it("only the ledger's typed door names a SQL function in TypeScript", () => {
    const names = new Set(readFunctionSources().flatMap(definedNames));
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.tsx?$/.test(entry.name) && !path.endsWith(join("src", "ledger", "sql.ts"))) {
          const text = readFileSync(path, "utf8");
          for (const name of names) if (new RegExp(`\\b${name}\\s*\\(`).test(text)) offenders.push(`${path}: ${name}`);
        }
      }
    };
    walk(join(MIGRATIONS_DIR, "..", "src"));
    expect(offenders).toEqual([]);
  });

  it("no migration after the move carries a function body", () => {
    const later = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith(".sql") && f > LAST_MIGRATION_WITH_FUNCTIONS)
      .filter((f) => /create\s+(or\s+replace\s+)?function/i.test(readFileSync(join(MIGRATIONS_DIR, f), "utf8")));
    expect(later, "change the function's file in sql/ instead").toEqual([]);
  });

  it("a freshly migrated database runs exactly the sources", async () => {
    expect(await withSqlSession(h.db.handle, (s) => checkFunctionDrift(s))).toEqual([]);
  });

  it("the drift check catches a function changed by hand, and one no source defines", async () => {
    await h.db.handle.db.execute(sql.raw(`create or replace function ledger_ts(t timestamptz) returns text language sql immutable as $$ select 'tampered' $$`));
    await h.db.handle.db.execute(sql.raw(`create function stray_helper() returns int language sql as 'select 1'`));
    const drift = await withSqlSession(h.db.handle, (s) => checkFunctionDrift(s));
    expect(drift).toEqual([
      { function: "ledger_ts(timestamp with time zone)", problem: "differs from its source" },
      { function: "stray_helper()", problem: "defined in the database but in no source" },
    ]);
    // The check changed nothing: the tampered body is still there until the sources are applied.
    const still = (await h.db.handle.db.execute(sql`select ledger_ts(now()) as t`)) as unknown as { rows: { t: string }[] };
    expect(still.rows[0]!.t).toBe("tampered");
    await h.db.handle.db.execute(sql.raw(`drop function stray_helper()`));
    await h.db.handle.db.execute(sql`delete from schema_function_sources`); // as if never applied
    await withSqlSession(h.db.handle, (s) => applyFunctionSources(s));
    expect(await withSqlSession(h.db.handle, (s) => checkFunctionDrift(s))).toEqual([]);
  });

  it("applies the sources again when a file changes, and only then", async () => {
    const dir = mkdtempSync(join(tmpdir(), "coalesce-sql-"));
    try {
      cpSync(FUNCTIONS_DIR, dir, { recursive: true });
      const helpers = join(dir, "01_helpers.sql");
      writeFileSync(helpers, readFileSync(helpers, "utf8").replace("'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'", "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"));
      const changed = readFunctionSources(dir);
      expect(await withSqlSession(h.db.handle, (s) => applyFunctionSources(s, changed))).toEqual(["01_helpers.sql"]);
      const t = (await h.db.handle.db.execute(sql`select ledger_ts('2026-01-02T03:04:05.678Z'::timestamptz) as t`)) as unknown as { rows: { t: string }[] };
      expect(t.rows[0]!.t).toBe("2026-01-02T03:04:05Z");
      expect(await withSqlSession(h.db.handle, (s) => applyFunctionSources(s, changed)), "unchanged: nothing applied").toEqual([]);
      expect(await withSqlSession(h.db.handle, (s) => applyFunctionSources(s))).toEqual(["01_helpers.sql"]);
      expect(await withSqlSession(h.db.handle, (s) => checkFunctionDrift(s))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
