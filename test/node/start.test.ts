import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dataDir = mkdtempSync(join(tmpdir(), "coalesce-start-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("npm start on a fresh machine (embedded PGlite, demo coalition)", () => {
  it("answers /health and serves /docs, then shuts down cleanly", async () => {
    const { DATABASE_URL: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, ["--import", "tsx", "src/entry/start.ts"], {
      cwd: process.cwd(),
      env: { ...env, DATA_DIR: dataDir, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const base = await new Promise<string>((resolve, reject) => {
        // Only a hang bound (about 10 s here): a busy machine may be several times slower.
        const timer = setTimeout(() => reject(new Error(`not listening after 150 s:\n${output}`)), 150_000);
        const poll = setInterval(() => {
          const m = output.match(/Health\s+(http:\/\/\S+)\/health/);
          if (m) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }, 50);
        void exited.then((code) => reject(new Error(`exited with ${code}:\n${output}`)));
      });
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      const docs = await fetch(`${base}/docs`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain("swagger-ui");

      // It says how to make a first signed call, and generated the demo partners' dev keys locally.
      expect(output).toMatch(/npm run partner -- aurora-hotels/);
      const keys = readdirSync(join(dataDir, "keys"));
      for (const id of ["aurora-hotels", "swift-rides", "northwind-retail"]) expect(keys).toContain(`${id}.private.jwk.json`);
      expect(statSync(join(dataDir, "keys", "aurora-hotels.private.jwk.json")).mode & 0o077).toBe(0);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, "pglite.lock")), "the embedded database is unlocked on exit").toBe(false);
  });
});
