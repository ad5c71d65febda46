/** `npm run size`: builds the Worker bundle exactly as deploy would (dry run) and prints its gzipped size. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export function buildWorkerBundle(): { raw: number; gzip: number; dir: string } {
  execFileSync("npx", ["tsx", "scripts/assets.ts"], { stdio: "ignore" });
  const dir = mkdtempSync(join(tmpdir(), "coalesce-bundle-"));
  execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", dir], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(dir)) {
    if (!/\.(m?js|wasm)$/.test(file)) continue;
    const bytes = readFileSync(join(dir, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { raw, gzip, dir };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { raw, gzip, dir } = buildWorkerBundle();
  rmSync(dir, { recursive: true, force: true });
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`Worker bundle: ${kib(raw)} raw, ${kib(gzip)} gzipped (Workers limit: 3 MiB free, 10 MiB paid, gzipped)`);
}
