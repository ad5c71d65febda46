/**
 * The partner guide in docs/ is checked against the code it describes, without a database:
 * the signing page's worked example is recomputed from the RFC 8032 test key (bsh, header,
 * payload, segments, the compact JWS) and must match the documented bytes exactly, and the
 * server's own verifier must accept it; every relative link (and anchor) in docs/*.md must
 * resolve; and the error page must list every code of the status table with its status.
 */
import { createHash, createPrivateKey, createPublicKey, sign as signRaw } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { base64url, CompactSign, compactVerify, importJWK, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { authenticate } from "../../src/auth/verify.js";
import { loadConfig } from "../../src/config.js";
import { STATUS_BY_CODE } from "../../src/http/problem.js";
import { roundHalfEven, subtractDecimals } from "../../src/lib/money.js";

const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));
const read = (name: string) => readFileSync(join(DOCS, name), "utf8");
const docFiles = readdirSync(DOCS).filter((f) => f.endsWith(".md"));

// ---------------------------------------------------------------------------------------------
// The worked example's inputs, fixed here independently of the page.

/** RFC 8032, section 7.1, TEST 1: a published test vector, never a real partner's key. */
const RFC_SECRET_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/** The RFC's signature of the empty message with that key. */
const RFC_EMPTY_MESSAGE_SIGNATURE =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

const KID = "example-rfc8032-test1";
const BODY = '{"member":"ext:guest-1001","amount_minor":45000,"currency":"EUR","reference":"stay-1"}';
const INPUTS = {
  iss: "aurora-hotels",
  aud: "coalition-api",
  iat: 1767225600,
  exp: 1767225660,
  jti: "example-jti-0001-do-not-reuse",
  htm: "POST",
  htu: "/v1/earn",
};
const HEADER = { alg: "EdDSA", kid: KID, typ: "coalition-request+jwt" };

const PRIVATE_JWK = {
  kty: "OKP",
  crv: "Ed25519",
  d: base64url.encode(Buffer.from(RFC_SECRET_HEX, "hex")),
  x: base64url.encode(Buffer.from(RFC_PUBLIC_HEX, "hex")),
};
const PUBLIC_JWK = { kty: "OKP", crv: "Ed25519", x: PRIVATE_JWK.x };

/** base64url SHA-256 of a string's UTF-8 bytes, with node:crypto (not the server's helper). */
const sha256b64url = (text: string) => createHash("sha256").update(Buffer.from(text, "utf8")).digest("base64url");

/** The Ed25519 private key from the raw 32-byte seed alone (PKCS#8 DER), so x is derived, not copied. */
const keyFromSeed = (seedHex: string) =>
  createPrivateKey({ key: Buffer.from(`302e020100300506032b657004220420${seedHex}`, "hex"), format: "der", type: "pkcs8" });

// ---------------------------------------------------------------------------------------------
// Reading the page: a block is `<!-- example:NAME -->` followed by a fenced code block; its value
// is the text between the fences, without the newline before the closing fence.

function examples(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = /<!-- example:([a-z0-9-]+) -->[ \t]*\r?\n```[^\n]*\n([\s\S]*?)\n```/g;
  for (const match of markdown.matchAll(pattern)) {
    const [, name, value] = match;
    if (found.has(name!)) throw new Error(`example "${name}" appears twice on one page`);
    found.set(name!, value!);
  }
  return found;
}

const signingPage = read("signing.md");
const documented = examples(signingPage);
function block(name: string): string {
  const value = documented.get(name);
  if (value === undefined) throw new Error(`docs/signing.md has no <!-- example:${name} --> block`);
  return value;
}

/** The "Inputs" table of the worked example: `| label (`claim`) | `value` |` rows. */
function inputTable(markdown: string): Record<string, string> {
  const start = markdown.indexOf("### Inputs");
  const end = markdown.indexOf("### Results");
  const section = markdown.slice(start, end);
  const rows: Record<string, string> = {};
  for (const line of section.split("\n")) {
    const m = /^\| (.+?) \| `([^`]+)`.*\|$/.exec(line);
    if (!m) continue;
    const label = m[1]!;
    const named = /`([a-z]+)`/.exec(label)?.[1] ?? label.trim();
    rows[named] = m[2]!;
  }
  return rows;
}

describe("docs/signing.md: the worked example", () => {
  it("uses the RFC 8032 TEST 1 key, and labels it as a test vector never to register", () => {
    expect(block("secret-key-hex")).toBe(RFC_SECRET_HEX);
    expect(block("public-key-hex")).toBe(RFC_PUBLIC_HEX);
    expect(JSON.parse(block("private-jwk"))).toEqual(PRIVATE_JWK);
    // The JWK is the RFC key: its public half derives from d, and it signs the RFC's vector.
    const key = keyFromSeed(RFC_SECRET_HEX);
    expect((createPublicKey(key).export({ format: "jwk" }) as { x: string }).x).toBe(PRIVATE_JWK.x);
    expect(signRaw(null, Buffer.alloc(0), key).toString("hex")).toBe(RFC_EMPTY_MESSAGE_SIGNATURE);
    expect(signRaw(null, Buffer.alloc(0), createPrivateKey({ key: PRIVATE_JWK, format: "jwk" })).toString("hex")).toBe(RFC_EMPTY_MESSAGE_SIGNATURE);
    expect(signingPage).toMatch(/RFC 8032, section 7\.1, "TEST 1"/);
    expect(signingPage).toMatch(/never\s+(?:>\s+)?register it/);
  });

  it("documents the inputs the test fixes", () => {
    const table = inputTable(signingPage);
    expect(table).toMatchObject({
      method: INPUTS.htm,
      htu: INPUTS.htu,
      iss: INPUTS.iss,
      kid: KID,
      aud: INPUTS.aud,
      iat: String(INPUTS.iat),
      exp: String(INPUTS.exp),
      jti: INPUTS.jti,
    });
    expect(block("body")).toBe(BODY);
    expect(signingPage).toContain(`exactly this string of ${Buffer.byteLength(BODY, "utf8")} bytes`);
    expect(signingPage).toMatch(/no trailing newline/);
  });

  it("shows the body hash, header and payload exactly as computed", () => {
    const bsh = sha256b64url(block("body"));
    expect(block("bsh")).toBe(bsh);
    expect(block("header")).toBe(JSON.stringify(HEADER));
    expect(block("payload")).toBe(JSON.stringify({ ...INPUTS, bsh }));
  });

  it("shows the base64url segments, the signature and the compact JWS exactly as computed", async () => {
    const h = base64url.encode(JSON.stringify(HEADER));
    const p = base64url.encode(JSON.stringify({ ...INPUTS, bsh: sha256b64url(BODY) }));
    expect(block("header-b64")).toBe(h);
    expect(block("payload-b64")).toBe(p);
    expect(block("header-b64")).toBe(base64url.encode(block("header")));
    expect(block("payload-b64")).toBe(base64url.encode(block("payload")));

    // Ed25519 is deterministic: node:crypto over the signing input gives the one signature.
    const s = base64url.encode(new Uint8Array(signRaw(null, Buffer.from(`${h}.${p}`, "ascii"), keyFromSeed(RFC_SECRET_HEX))));
    expect(block("signature-b64")).toBe(s);
    expect(block("jws")).toBe(`${h}.${p}.${s}`);

    // And jose, as the page's Node snippet does it, produces the same bytes.
    const key = await importJWK(PRIVATE_JWK, "EdDSA");
    const claims = { ...INPUTS, bsh: sha256b64url(BODY) };
    const viaSignJwt = await new SignJWT(claims).setProtectedHeader(HEADER).sign(key);
    const viaCompactSign = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims))).setProtectedHeader(HEADER).sign(key);
    expect(viaSignJwt).toBe(block("jws"));
    expect(viaCompactSign).toBe(block("jws"));
  });

  it("verifies with the RFC public key", async () => {
    const publicKey = await importJWK(PUBLIC_JWK, "EdDSA");
    const { payload, protectedHeader } = await compactVerify(block("jws"), publicKey, { algorithms: ["EdDSA"] });
    expect(protectedHeader).toEqual(HEADER);
    expect(new TextDecoder().decode(payload)).toBe(block("payload"));
    const verified = await jwtVerify(block("jws"), publicKey, {
      algorithms: ["EdDSA"],
      typ: "coalition-request+jwt",
      issuer: INPUTS.iss,
      audience: INPUTS.aud,
      currentDate: new Date((INPUTS.iat + 10) * 1000),
    });
    expect(verified.payload.jti).toBe(INPUTS.jti);
    // One flipped signature byte no longer verifies.
    const [h, p, s] = block("jws").split(".");
    const bad = Buffer.from(s!, "base64url");
    bad[0] = bad[0]! ^ 1;
    await expect(compactVerify(`${h}.${p}.${bad.toString("base64url")}`, publicKey)).rejects.toThrow();
  });

  it("shows snippets (Node, Python, shell) built from the same inputs, and the Node one prints the documented JWS", async () => {
    for (const name of ["node-snippet", "python-snippet", "shell-snippet"]) {
      const code = block(name);
      for (const value of [RFC_SECRET_HEX, BODY, KID, INPUTS.iss, INPUTS.aud, String(INPUTS.iat), String(INPUTS.exp), INPUTS.jti, INPUTS.htm, INPUTS.htu])
        expect(code, `${name} should contain ${value}`).toContain(value);
    }
    // Run the Node snippet as printed, with its two imports supplied.
    const source = block("node-snippet");
    const imports = source.match(/^import .*;$/gm) ?? [];
    expect(imports).toEqual(['import { createHash } from "node:crypto";', 'import { importJWK, SignJWT } from "jose";']);
    const printed: string[] = [];
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
    const run = new AsyncFunction("createHash", "importJWK", "SignJWT", "Buffer", "console", source.replace(/^import .*;$/gm, ""));
    await run(createHash, importJWK, SignJWT, Buffer, { log: (line: unknown) => printed.push(String(line)) });
    expect(printed).toEqual([block("jws")]);
  });

  it("is accepted by the server's own request verifier while valid, and refused as the page says otherwise", async () => {
    const registered = { ...PUBLIC_JWK, kid: KID, alg: "EdDSA" };
    const deps = (atSeconds: number) => ({
      config: loadConfig({ ENVIRONMENT: "test" }),
      // The one query the verifier makes: the partner and, when active, the key named by kid.
      db: () =>
        ({
          execute: async () => ({ rows: [{ partner_status: "active", rate_limit_per_minute: null, alg: "EdDSA", jwk: registered, key_status: "active" }] }),
        }) as never,
      now: () => new Date(atSeconds * 1000),
    });
    const request = (overrides: Partial<{ target: string; body: string; method: string }> = {}) => ({
      authorization: `Bearer ${block("jws")}`,
      method: overrides.method ?? "POST",
      target: overrides.target ?? INPUTS.htu,
      body: new TextEncoder().encode(overrides.body ?? BODY),
    });
    const partner = { kind: "partner" } as const;

    const ok = await authenticate(request(), partner, deps(INPUTS.iat + 30));
    expect(ok.caller).toMatchObject({ kind: "partner", partnerId: INPUTS.iss, kid: KID, jti: INPUTS.jti });

    // Accepted until 60 s after exp (clock skew), refused after.
    await expect(authenticate(request(), partner, deps(INPUTS.exp + 59))).resolves.toBeTruthy();
    await expect(authenticate(request(), partner, deps(INPUTS.exp + 61))).rejects.toMatchObject({ code: "token_expired" });
    await expect(authenticate(request(), partner, deps(INPUTS.iat - 61))).rejects.toMatchObject({ code: "token_not_yet_valid" });
    await expect(authenticate(request({ body: `${BODY}\n` }), partner, deps(INPUTS.iat + 30))).rejects.toMatchObject({ code: "body_mismatch" });
    await expect(authenticate(request({ target: "/v1/earn?" }), partner, deps(INPUTS.iat + 30))).rejects.toMatchObject({ code: "request_mismatch" });
    await expect(authenticate(request({ method: "PUT" }), partner, deps(INPUTS.iat + 30))).rejects.toMatchObject({ code: "request_mismatch" });
    await expect(authenticate(request(), { kind: "staff", role: "admin" }, deps(INPUTS.iat + 30))).rejects.toMatchObject({ code: "role_forbidden" });
  });
});

// ---------------------------------------------------------------------------------------------
// The settlement page's worked example, recomputed the way statements are: exact sums at the
// locked prices, each amount rounded half-even once (the server's own rounding helpers).

/** A price per point ("0.008") in millionths, without floating point. */
function micros(price: string): bigint {
  const [whole, frac = ""] = price.split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, "0"));
}
/** points × price, exactly, as a decimal string with 6 decimals (non-negative). */
const exact = (pointsTimesMicros: bigint) => `${pointsTimesMicros / 1_000_000n}.${String(pointsTimesMicros % 1_000_000n).padStart(6, "0")}`;

describe("docs/settlement.md: the worked example", () => {
  const page = read("settlement.md");
  const ex = examples(page);
  const statement = (name: string) => JSON.parse(ex.get(name) ?? "null") as Record<string, unknown>;

  it("adds up as the statements compute it", () => {
    // Aurora Hotels, issuance billing at 0.008, redemption at 0.006.
    const earn1 = { points: 2812, operatorFunded: 562 }; // 2,250 base + floor(2,250 × 0.25) tier bonus
    const earn2 = 617; // floor(123.45 × 5)
    const reversal = 117;
    const burnAtAurora = 1245;
    expect(2250 + Math.floor(2250 * 0.25)).toBe(earn1.points);
    expect(Math.floor((12345 * 5) / 100)).toBe(earn2);
    const auroraIssuance = roundHalfEven(exact(BigInt(earn1.points - earn1.operatorFunded + earn2 - reversal) * micros("0.008")), 2);
    const auroraRedemption = roundHalfEven(exact(BigInt(burnAtAurora) * micros("0.006")), 2);
    expect(statement("statement-aurora")).toMatchObject({
      partner_id: "aurora-hotels",
      billing: "issuance",
      earned_points: earn1.points + earn2,
      earn_reversed_points: reversal,
      burned_points: burnAtAurora,
      burn_refunded_points: 0,
      expired_points: 0,
      operator_funded_points: earn1.operatorFunded,
      issuance_amount: auroraIssuance,
      redemption_amount: auroraRedemption,
      net_amount: subtractDecimals(auroraIssuance, auroraRedemption, 2),
      entry_count: 4,
    });

    // Swift Rides, redemption billing: its lots burned anywhere at 0.009, its own burns paid at 0.007.
    const earn5 = 45; // 22.50 × 2
    const burnAtSwift = 300;
    const swiftExact = exact(BigInt(burnAtAurora + burnAtSwift) * micros("0.009"));
    expect(swiftExact).toBe("13.905000");
    const swiftIssuance = roundHalfEven(swiftExact, 2);
    expect(swiftIssuance).toBe("13.90");
    const swiftRedemption = roundHalfEven(exact(BigInt(burnAtSwift) * micros("0.007")), 2);
    expect(statement("statement-swift")).toMatchObject({
      partner_id: "swift-rides",
      billing: "redemption",
      earned_points: earn5,
      earn_reversed_points: 0,
      burned_points: burnAtSwift,
      burn_refunded_points: 0,
      expired_points: 0,
      operator_funded_points: 0,
      issuance_amount: swiftIssuance,
      redemption_amount: swiftRedemption,
      net_amount: subtractDecimals(swiftIssuance, swiftRedemption, 2),
      entry_count: 2,
    });

    // The tables above the statements say the same.
    for (const text of ["| 2,812 |", "| 617 |", "| 117 |", "| 1,245 |", "| 45 |", "| 300 |", "22.000 → **22.00**", "7.470 → **7.47**", "**14.53**", "13.905 → **13.90**", "2.100 → **2.10**", "**11.80**"])
      expect(page).toContain(text);
  });

  it("states the rounding the server uses", () => {
    for (const [value, rounded] of [["13.905", "13.90"], ["13.915", "13.92"], ["2.345", "2.34"], ["2.355", "2.36"]] as const) {
      expect(roundHalfEven(value, 2)).toBe(rounded);
      expect(page).toContain(`${value} → ${rounded}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Links.

/** GitHub's heading anchors: lower case, punctuation dropped (not - or _), spaces to dashes, -1, -2… for repeats. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of stripFences(markdown).split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/<[^>]*>/g, "")
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function stripFences(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[ \t]*$/gm, "");
}

function links(markdown: string): string[] {
  const prose = stripFences(markdown).replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe("docs/*.md links", () => {
  it("has the pages the index promises", () => {
    for (const page of ["README.md", "quickstart.md", "signing.md", "errors.md", "idempotency.md", "webhooks.md", "settlement.md", "ledger.md"])
      expect(docFiles, page).toContain(page);
    const index = links(read("README.md"));
    for (const page of docFiles.filter((f) => f !== "README.md")) expect(index, `README.md links ${page}`).toContain(page);
  });

  it("points every relative link at a file that exists, and every anchor at a heading", () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of docFiles) {
      for (const target of links(read(file))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
        checked++;
        const [path, anchor] = target.split("#") as [string, string | undefined];
        const resolved = path === "" ? join(DOCS, file) : resolve(DOCS, dirname(file), decodeURIComponent(path));
        if (!existsSync(resolved)) {
          problems.push(`${file}: ${target} → ${relative(DOCS, resolved)} does not exist`);
          continue;
        }
        if (anchor && resolved.endsWith(".md") && !anchors(readFileSync(resolved, "utf8")).has(anchor))
          problems.push(`${file}: ${target} → no heading #${anchor}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(10);
  });

  it("never links the internal wire-contract file", () => {
    for (const file of docFiles) {
      for (const target of links(read(file))) expect(target, file).not.toMatch(/partner-api\.md|shared\/spec/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Error codes.

describe("docs/errors.md", () => {
  const page = read("errors.md");
  const rows = [...page.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((m) => ({ status: Number(m[1]), code: m[2]! }));

  it("lists every code of the status table, with its status", () => {
    const listed = new Map(rows.map((r) => [r.code, r.status]));
    for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
      expect(page, code).toContain(`\`${code}\``);
      expect(listed.get(code), `${code} should be a row "| ${status} | \`${code}\` |"`).toBe(status);
    }
  });

  it("lists no code the server does not have, each once", () => {
    for (const { code, status } of rows) expect(STATUS_BY_CODE[code as keyof typeof STATUS_BY_CODE], code).toBe(status);
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
  });

  it("agrees with the signing page's table of mistakes", () => {
    const mistakes = [...signingPage.matchAll(/^\| \d+ \| .+ \| (\d{3}) \| `([a-z_]+)` \|$/gm)];
    expect(mistakes.length).toBeGreaterThan(10);
    for (const m of mistakes) expect(STATUS_BY_CODE[m[2] as keyof typeof STATUS_BY_CODE], m[2]).toBe(Number(m[1]));
  });
});

describe("the guide as the server serves it (/docs/guide)", () => {
  it("bundles the current docs/*.md (regenerate with npm run guide)", async () => {
    const { guideModuleText, GUIDE_MODULE } = await import("../../scripts/guide.js");
    expect(readFileSync(GUIDE_MODULE, "utf8") === guideModuleText(), "src/generated/guide.ts is stale: run `npm run guide`").toBe(true);
  });

  it("serves every page, with each guide link and heading anchor resolving on the server", async () => {
    const { createApp } = await import("../../src/app.js");
    const app = createApp({ services: () => ({ services: { config: loadConfig({ ENVIRONMENT: "test" }) } as never, finish: async () => {} }) });
    const pages = ["/docs/guide", ...docFiles.filter((f) => f !== "README.md").map((f) => `/docs/guide/${f.replace(/\.md$/, "")}`)];
    const ids = new Map<string, Set<string>>();
    const hrefs: { from: string; href: string }[] = [];
    for (const page of pages) {
      const res = await app.request(page);
      expect(res.status, page).toBe(200);
      const text = await res.text();
      ids.set(page, new Set([...text.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]!)));
      for (const m of text.matchAll(/href="(\/docs\/guide[^"]*)"/g)) hrefs.push({ from: page, href: m[1]! });
    }
    expect(hrefs.length).toBeGreaterThan(10);
    for (const { from, href } of hrefs) {
      const [path, anchor] = href.split("#") as [string, string | undefined];
      expect(ids.has(path), `${from} links ${href}`).toBe(true);
      if (anchor) expect(ids.get(path)!.has(anchor), `${from} links ${href}`).toBe(true);
    }
    expect((await app.request("/docs/guide/no-such-page")).status).toBe(404);
  });
});
