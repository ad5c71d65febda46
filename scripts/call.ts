/**
 * Try the API by hand against a local server, signing with the dev keys in .data/keys/:
 *   npm run partner -- aurora-hotels POST /v1/members '{"external_ref":"guest-1001"}'
 *   npm run partner -- aurora-hotels GET /v1/members/ext:guest-1001
 *   npm run staff -- admin PATCH /v1/admin/partners/swift-rides '{"status":"suspended"}'
 * Options: --idempotency-key KEY (POST; default: random), --url URL (default COALESCE_URL or
 * http://127.0.0.1:$PORT), --key FILE (a private JWK; default COALESCE_KEY_FILE or the dev key
 * in .data/keys), --show-token. A body argument starting with @ is read from that file.
 * Against a deployed Worker: --url https://… --key your-key.jwk.json.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CoalesceClient, PartnerClient, StaffClient } from "../src/client/index.js";
import { devKeyPath } from "../src/dev/keys.js";
import { DEFAULT_DATA_DIR, OPERATOR_DEV_KEY } from "../src/dev/bootstrap.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    staff: { type: "boolean", default: false },
    "idempotency-key": { type: "string" },
    url: { type: "string" },
    key: { type: "string" },
    "show-token": { type: "boolean", default: false },
  },
});

const [who, method, target, bodyArg] = positionals;
if (!who || !method || !target || !target.startsWith("/")) {
  console.error(
    values.staff
      ? "usage: npm run staff -- <admin|finance> <METHOD> </path?query> ['json body' | @file.json]"
      : "usage: npm run partner -- <partner-id> <METHOD> </path?query> ['json body' | @file.json]",
  );
  process.exit(2);
}
const dataDir = process.env.DATA_DIR || DEFAULT_DATA_DIR;
const givenKey = values.key ?? process.env.COALESCE_KEY_FILE;
const keyFile = givenKey ? resolve(givenKey) : devKeyPath(dataDir, values.staff ? OPERATOR_DEV_KEY : who);
if (!existsSync(keyFile)) {
  console.error(
    givenKey
      ? `no key file at ${keyFile}`
      : `no dev key at ${keyFile}: run \`npm start\` once (it generates the demo partners' and staff keys), or pass --key FILE`,
  );
  process.exit(2);
}
let privateJwk: Record<string, unknown>;
try {
  privateJwk = JSON.parse(readFileSync(keyFile, "utf8"));
  if (typeof privateJwk.d !== "string" || typeof privateJwk.kid !== "string") throw new Error("not a private JWK with a kid");
} catch (err) {
  console.error(`${keyFile} is not a private JWK with a kid and alg (${err instanceof Error ? err.message : err})`);
  process.exit(2);
}
const baseUrl = values.url ?? process.env.COALESCE_URL ?? `http://127.0.0.1:${process.env.PORT || 8787}`;
const audience = process.env.API_AUDIENCE || undefined;
let client: CoalesceClient;
if (values.staff) {
  if (who !== "admin" && who !== "finance") {
    console.error('staff role must be "admin" or "finance"');
    process.exit(2);
  }
  client = new StaffClient({ baseUrl, privateJwk, audience, sub: `${process.env.USER || "dev"}@local`, role: who, issuer: process.env.OPERATOR_ISSUER || undefined });
} else {
  client = new PartnerClient({ baseUrl, issuer: who, privateJwk, audience });
}

const body = bodyArg === undefined ? undefined : bodyArg.startsWith("@") ? readBodyFile(bodyArg.slice(1)) : bodyArg;
function readBodyFile(path: string): string {
  try {
    return readFileSync(resolve(path), "utf8");
  } catch {
    console.error(`cannot read the body file ${resolve(path)}`);
    process.exit(2);
  }
}

if (values["show-token"]) {
  const token = await client.sign(method, target, new TextEncoder().encode(body ?? ""));
  console.log(`token: ${token}\n`);
}
try {
  const res = await client.request(method.toUpperCase(), target, body, { idempotencyKey: values["idempotency-key"] });
  console.log(`${res.status}${res.replayed ? " (idempotent replay)" : ""}`);
  for (const h of ["content-type", "retry-after", "allow", "x-request-id"]) {
    const v = res.headers.get(h);
    if (v) console.log(`${h}: ${v}`);
  }
  console.log(typeof res.body === "string" ? res.body : JSON.stringify(res.body, null, 2));
  process.exit(res.status >= 400 ? 1 : 0);
} catch (err) {
  console.error(`request failed: ${err instanceof Error ? err.message : err} (is the server running at ${baseUrl}?)`);
  process.exit(1);
}
