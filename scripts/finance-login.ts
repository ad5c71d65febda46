/** `npm run finance:login`: a one-time link to the finance dashboard, asked for with your staff key (dev: .data/keys). */
import { execFileSync } from "node:child_process";

const out = execFileSync(process.execPath, ["--import", "tsx", "scripts/call.ts", "--staff", "finance", "POST", "/v1/staff/sign-in-links", "{}"], {
  encoding: "utf8",
  env: process.env,
  stdio: ["ignore", "pipe", "inherit"],
});
const url = /"url": "([^"]+)"/.exec(out)?.[1];
if (!url) {
  console.error(out);
  process.exit(1);
}
console.log(`Open this link within 5 minutes (it works once):\n  ${url}`);
