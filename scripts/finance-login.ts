/**
 * `npm run finance:login [-- --url URL --key FILE]`: a one-time link to the finance dashboard,
 * asked for with your staff key (dev: .data/keys). Options go to `npm run staff` unchanged.
 */
import { spawnSync } from "node:child_process";

const run = spawnSync(
  process.execPath,
  ["--import", "tsx", "scripts/call.ts", "--staff", ...process.argv.slice(2), "finance", "POST", "/v1/staff/sign-in-links", "{}"],
  { encoding: "utf8", env: process.env, stdio: ["ignore", "pipe", "inherit"] },
);
// The call already said on stderr, in one line, why it failed.
if (run.status !== 0) process.exit(run.status ?? 1);
const url = /"url": "([^"]+)"/.exec(run.stdout)?.[1];
if (!url) {
  console.error(run.stdout);
  process.exit(1);
}
console.log(`Open this link within 5 minutes (it works once):\n  ${url}`);
