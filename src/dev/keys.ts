import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";

export interface DevKeyPair {
  privateJwk: JWK & { kid: string; alg: string };
  publicJwk: JWK & { kid: string; alg: string };
}

/**
 * A development key pair kept in `.data/keys/<name>.private.jwk.json` (git-ignored, mode 0600).
 * Generated on first use and reused afterwards, so a local database's registered keys stay valid.
 */
export async function ensureDevKey(dataDir: string, name: string, alg: "ES256" | "EdDSA" = "ES256"): Promise<DevKeyPair> {
  const dir = join(dataDir, "keys");
  const file = join(dir, `${name}.private.jwk.json`);
  let privateJwk: DevKeyPair["privateJwk"];
  if (existsSync(file)) {
    privateJwk = JSON.parse(readFileSync(file, "utf8"));
  } else {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === "EdDSA" ? "Ed25519" : undefined });
    const jwk = await exportJWK(privateKey);
    privateJwk = { ...jwk, kid: `${name}-dev-${new Date().toISOString().slice(0, 10)}`, alg };
    writeFileSync(file, JSON.stringify(privateJwk, null, 2) + "\n", { mode: 0o600 });
  }
  const { d: _d, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk: { ...publicJwk, use: "sig" } as DevKeyPair["publicJwk"] };
}

export function devKeyPath(dataDir: string, name: string): string {
  return join(dataDir, "keys", `${name}.private.jwk.json`);
}
