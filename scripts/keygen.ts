/**
 * `npm run keys:new -- --kid <kid> [--alg ES256|EdDSA] [--out FILE]`: a new signing key pair for
 * production use: the platform key (PLATFORM_SIGNING_KEY), a staff key (its public half goes into
 * OPERATOR_JWKS) or a partner's key (its public half registered with the admin API). The private
 * JWK is written to FILE (default .data/keys/<kid>.private.jwk.json, mode 0600; never commit it);
 * the public JWK and a one-key JWKS are printed.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import { DEFAULT_DATA_DIR } from "../src/dev/bootstrap.js";

const { values } = parseArgs({ options: { kid: { type: "string" }, alg: { type: "string", default: "ES256" }, out: { type: "string" } } });
const kid = values.kid;
if (!kid || !/^[A-Za-z0-9._-]{1,64}$/.test(kid) || (values.alg !== "ES256" && values.alg !== "EdDSA")) {
  console.error("usage: npm run keys:new -- --kid <kid: letters, digits, . _ -> [--alg ES256|EdDSA] [--out FILE]");
  process.exit(2);
}
const alg = values.alg as "ES256" | "EdDSA";
const out = resolve(values.out ?? `${process.env.DATA_DIR || DEFAULT_DATA_DIR}/keys/${kid}.private.jwk.json`);
if (existsSync(out)) {
  console.error(`${out} exists; choose another --kid or --out (a key file is never overwritten)`);
  process.exit(2);
}
const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, crv: alg === "EdDSA" ? "Ed25519" : undefined });
const privateJwk = { ...(await exportJWK(privateKey)), kid, alg };
const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
writeFileSync(out, JSON.stringify(privateJwk) + "\n", { mode: 0o600 });
console.error(`private key written to ${out} (keep it secret; never commit it)`);
console.log(JSON.stringify({ public_jwk: publicJwk, jwks: { keys: [publicJwk] } }, null, 2));
