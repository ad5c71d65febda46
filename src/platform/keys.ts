import { importJWK, type CryptoKey, type JWK } from "jose";
import type { Config } from "../config.js";

const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"] as const;

/** The platform's public keys as a JWKS: every configured key, so rotation overlaps. */
export function platformJwks(config: Config): { keys: JWK[] } {
  return {
    keys: config.platformSigningKeys.map((k) => {
      const pub: Record<string, unknown> = {};
      for (const m of PUBLIC_MEMBERS) if (k[m] !== undefined) pub[m] = k[m];
      pub.use ??= "sig";
      return pub as JWK;
    }),
  };
}

const signingKeys = new WeakMap<Config, Promise<{ key: CryptoKey; kid: string; alg: string }>>();

/** The first configured key signs (statements, webhooks). */
export function platformSigner(config: Config): Promise<{ key: CryptoKey; kid: string; alg: string }> {
  let signer = signingKeys.get(config);
  if (!signer) {
    const jwk = config.platformSigningKeys[0] as JWK | undefined;
    if (!jwk || typeof jwk.kid !== "string" || typeof jwk.alg !== "string") {
      return Promise.reject(new Error("PLATFORM_SIGNING_KEY is not configured (a private JWK with kid and alg)"));
    }
    signer = importJWK(jwk, jwk.alg).then((key) => ({ key: key as CryptoKey, kid: jwk.kid!, alg: jwk.alg! }));
    signingKeys.set(config, signer);
  }
  return signer;
}
