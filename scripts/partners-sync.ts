/**
 * `npm run partners:sync [-- --dir partners] [--dry-run]`: makes the database say what the
 * partner documents say. Idempotent. Keys a file no longer lists are revoked and reported;
 * partners without a file are left as they are and listed.
 * On the embedded database (no DATABASE_URL) each partner's dev key from .data/keys is kept too.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { openDatabase, targetFromEnv } from "../src/db/client.js";
import { migrateHandle } from "../src/db/migrate.js";
import { partners } from "../src/db/schema/index.js";
import { DEFAULT_DATA_DIR, loadDemoCoalition } from "../src/dev/bootstrap.js";
import { loadPartnerFiles, PartnerFilesError } from "../src/partners/files.js";
import { applyPartnerDocument, type ApplyResult } from "../src/partners/apply.js";

const { values } = parseArgs({ options: { dir: { type: "string", default: "partners" }, "dry-run": { type: "boolean", default: false } } });
const dir = resolve(values.dir!);
const dataDir = process.env.DATA_DIR || DEFAULT_DATA_DIR;
const url = process.env.DATABASE_URL;

try {
  const docs = await loadPartnerFiles(dir);
  console.log(`${docs.length} partner document(s) in ${dir} are valid`);
  if (values["dry-run"]) process.exit(0);
  const handle = await openDatabase(targetFromEnv(url, join(dataDir, "pglite")));
  try {
    await migrateHandle(handle, url);
    const now = new Date();
    const results: ApplyResult[] = url
      ? await Promise.all(docs.map((doc) => applyPartnerDocument(handle.db, doc, { mode: "upsert", now })))
      : await loadDemoCoalition(handle.db, dir, dataDir, now);
    for (const r of results) {
      const keys = [r.keys_added.length && `keys added: ${r.keys_added.join(", ")}`, r.keys_revoked.length && `keys revoked: ${r.keys_revoked.join(", ")}`]
        .filter(Boolean)
        .join("; ");
      console.log(`  ${r.partner_id}: ${r.change}${keys ? ` (${keys})` : ""}`);
    }
    const inFiles = new Set(docs.map((d) => d.id));
    const others = (await handle.db.select({ id: partners.id }).from(partners)).map((p) => p.id).filter((id) => !inFiles.has(id));
    if (others.length) console.log(`  not in ${values.dir}/ (left unchanged; manage them with the admin API): ${others.join(", ")}`);
  } finally {
    await handle.close();
  }
} catch (err) {
  if (err instanceof PartnerFilesError) console.error(err.message);
  else console.error("sync failed:", err instanceof Error ? err.message : err);
  process.exit(1);
}
