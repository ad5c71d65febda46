/** `npm run ledger:verify`: checks every ledger invariant on DATABASE_URL (or the embedded database); non-zero exit on a breach. */
import { join } from "node:path";
import { openDatabase, targetFromEnv } from "../src/db/client.js";
import type { DbHandle } from "../src/db/database.js";
import { DEFAULT_DATA_DIR } from "../src/dev/bootstrap.js";
import { INVARIANT_NAMES, verifyLedger } from "../src/ledger/verify.js";

let handle: DbHandle;
try {
  handle = await openDatabase(targetFromEnv(process.env.DATABASE_URL, join(process.env.DATA_DIR || DEFAULT_DATA_DIR, "pglite")));
} catch (err) {
  // One line, no stack: the usual cause is `npm start` holding the embedded database.
  console.error(`ledger:verify could not open the database: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
try {
  const breaches = await verifyLedger(handle.db);
  for (const name of INVARIANT_NAMES) {
    const breach = breaches.find((b) => b.invariant === name);
    console.log(`${breach ? "BREACH" : "ok    "}  ${name}`);
    if (breach) for (const row of breach.rows) console.log(`          ${JSON.stringify(row)}`);
  }
  if (breaches.length > 0) {
    console.error(`\n${breaches.length} invariant(s) breached`);
    process.exitCode = 1;
  } else console.log("\nledger verified: every invariant holds");
} catch (err) {
  console.error(`ledger:verify failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
} finally {
  await handle.close();
}
