/**
 * Node project, once per run: a migrated template, cloned per test file so files are isolated.
 * DATABASE_URL set → a template database on that server; unset → a migrated PGlite image.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { openDatabase } from "../../src/db/client.js";
import { migrateDatabase } from "../../src/db/migrate.js";
import { adminQuery, databaseUrl, pgReachable, quoteIdent, uniqueName } from "../support/pg.js";
import { PGlite } from "@electric-sql/pglite";

declare module "vitest" {
  export interface ProvidedContext {
    dbMode: "pg" | "pglite";
    pgServerUrl: string;
    pgTemplate: string;
    pgliteImage: string;
  }
}

export default async function setup(project: TestProject) {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    if (!(await pgReachable(serverUrl, 5_000))) throw new Error(`DATABASE_URL is set but Postgres does not answer at it`);
    const template = uniqueName("coalesce_tpl");
    await adminQuery(serverUrl, `create database ${quoteIdent(template)}`);
    await migrateDatabase({ kind: "url", url: databaseUrl(serverUrl, template) });
    project.provide("dbMode", "pg");
    project.provide("pgServerUrl", serverUrl);
    project.provide("pgTemplate", template);
    project.provide("pgliteImage", "");
    return async () => {
      await adminQuery(serverUrl, `drop database if exists ${quoteIdent(template)} with (force)`);
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "coalesce-pglite-"));
  const handle = await openDatabase({ kind: "pglite" });
  await migrateDatabase({ kind: "pglite", handle });
  const client = (handle.db as unknown as { $client: PGlite }).$client;
  const image = join(dir, "migrated.tar");
  writeFileSync(image, Buffer.from(await (await client.dumpDataDir("none")).arrayBuffer()));
  await handle.close();
  project.provide("dbMode", "pglite");
  project.provide("pgServerUrl", "");
  project.provide("pgTemplate", "");
  project.provide("pgliteImage", image);
  return () => rmSync(dir, { recursive: true, force: true });
}
