/**
 * The command-line tools refuse in one line that says what to do: no stack trace for a missing
 * key, a key file that is not a key, or a server that is not running.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { newKeyPair } from "../support/harness.js";

const scratch = mkdtempSync(join(tmpdir(), "coalesce-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(script: string, args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", script, ...args], {
    encoding: "utf8",
    env: { ...process.env, DATA_DIR: join(scratch, "data"), COALESCE_URL: "", COALESCE_KEY_FILE: "" },
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr.trim(), stdout: result.stdout.trim() };
}

const oneLine = (text: string) => {
  expect(text.split("\n")).toHaveLength(1);
  expect(text).not.toMatch(/^\s+at |node:internal|Error: Command failed/m);
};

describe("CLI refusals", () => {
  it("a missing dev key: says to run npm start or pass --key", () => {
    const r = run("scripts/call.ts", ["aurora-hotels", "GET", "/v1/transactions"]);
    expect(r.status).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/npm start.*--key/);
    const login = run("scripts/finance-login.ts", []);
    expect(login.status).toBe(2);
    oneLine(login.stderr);
  });

  it("a key file that is missing or not a private JWK", () => {
    const missing = run("scripts/call.ts", ["--key", join(scratch, "nope.json"), "aurora-hotels", "GET", "/v1/transactions"]);
    expect(missing.status).toBe(2);
    oneLine(missing.stderr);
    const file = join(scratch, "public.json");
    writeFileSync(file, JSON.stringify({ kty: "EC", crv: "P-256", x: "a", y: "b", kid: "k" }));
    const publicOnly = run("scripts/call.ts", ["--key", file, "aurora-hotels", "GET", "/v1/transactions"]);
    expect(publicOnly.status).toBe(2);
    oneLine(publicOnly.stderr);
    expect(publicOnly.stderr).toMatch(/not a private JWK/);
  });

  it("a server that is not running: says where it looked", async () => {
    const { privateJwk } = await newKeyPair("cli-k1");
    const file = join(scratch, "key.json");
    writeFileSync(file, JSON.stringify(privateJwk));
    const r = run("scripts/call.ts", ["--key", file, "--url", "http://127.0.0.1:9", "aurora-hotels", "GET", "/v1/transactions"]);
    expect(r.status).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/is the server running at http:\/\/127\.0\.0\.1:9\?/);
  });

  it("keys:new writes a private key (0600) once and prints only its public half", () => {
    const out = join(scratch, "platform.jwk.json");
    const r = run("scripts/keygen.ts", ["--kid", "platform-2026-12", "--out", out]);
    expect(r.status).toBe(0);
    const printed = JSON.parse(r.stdout) as { public_jwk: Record<string, string>; jwks: { keys: unknown[] } };
    expect(printed.public_jwk).toMatchObject({ kid: "platform-2026-12", alg: "ES256", kty: "EC" });
    expect(printed.public_jwk.d).toBeUndefined();
    expect(printed.jwks.keys).toEqual([printed.public_jwk]);
    const saved = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect(saved.d).toBeTruthy();
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const again = run("scripts/keygen.ts", ["--kid", "platform-2026-12", "--out", out]);
    expect(again.status).toBe(2);
    oneLine(again.stderr);
  });
});
