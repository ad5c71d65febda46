import { join } from "node:path";
import type { Database } from "../db/database.js";
import { loadPartnerFiles } from "../partners/files.js";
import { applyPartnerDocument, type ApplyResult } from "../partners/apply.js";
import { ensureDevKey } from "./keys.js";
import type { PublicJwk } from "../partners/document.js";

export const OPERATOR_DEV_KEY = "operator-staff";
export const PLATFORM_DEV_KEY = "platform-signing";

/** Local-run environment additions: staff and platform keys generated into `.data/` when not configured. */
export async function devEnvironment(dataDir: string, env: Record<string, string | undefined>): Promise<Record<string, string>> {
  const extra: Record<string, string> = {};
  if (!env.OPERATOR_JWKS) {
    const staff = await ensureDevKey(dataDir, OPERATOR_DEV_KEY, "ES256");
    extra.OPERATOR_JWKS = JSON.stringify({ keys: [staff.publicJwk] });
  }
  if (!env.PLATFORM_SIGNING_KEY) {
    const platform = await ensureDevKey(dataDir, PLATFORM_DEV_KEY, "ES256");
    extra.PLATFORM_SIGNING_KEY = JSON.stringify(platform.privateJwk);
  }
  return extra;
}

/**
 * Applies the demo coalition in `partnersDir`, each partner with a dev key pair generated into
 * `.data/keys/` alongside whatever keys its file lists.
 */
export async function loadDemoCoalition(db: Database, partnersDir: string, dataDir: string, now: Date): Promise<ApplyResult[]> {
  const docs = await loadPartnerFiles(partnersDir);
  const results: ApplyResult[] = [];
  for (const doc of docs) {
    const dev = await ensureDevKey(dataDir, doc.id, "ES256");
    const keys = doc.keys.some((k) => k.kid === dev.publicJwk.kid) ? doc.keys : [...doc.keys, dev.publicJwk as PublicJwk];
    results.push(await applyPartnerDocument(db, { ...doc, keys }, { mode: "upsert", now }));
  }
  return results;
}

export const DEFAULT_DATA_DIR = join(process.cwd(), ".data");
