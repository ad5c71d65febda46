import { readFile } from "node:fs/promises";
import type { DocsDevKeySource } from "../routes/docs.js";
import { devKeyPath } from "./keys.js";

/**
 * The docs page's "Use the local demo key" on `npm start`: the development key of one demo
 * partner, read from `.data/keys/<partner>.private.jwk.json` (written by `ensureDevKey` when the
 * demo coalition is loaded) on each ask. Nothing is generated here: no file, no key offered. The
 * route that hands it out answers only in development (`registerDocsDevKey`); Workers never have one.
 */
export function demoDocsKey(dataDir: string, partnerId: string): DocsDevKeySource {
  const file = devKeyPath(dataDir, partnerId);
  return async () => {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (typeof jwk.d !== "string" || typeof jwk.kid !== "string" || typeof jwk.alg !== "string") return null;
    return { issuer: partnerId, privateJwk: jwk };
  };
}
