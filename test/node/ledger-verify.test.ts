import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { createHarness, type Harness } from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  const p = await h.partner();
  const m = await p.client.call<{ member_id: string }>("POST", "/v1/members", { external_ref: "v" });
  await p.client.call("POST", "/v1/earn", { member: m.member_id, amount_minor: 1000, currency: "EUR", reference: "v" });
});
afterAll(() => h.close());

describe("ledger:verify", () => {
  it("is clean on a sound ledger", async () => {
    expect(await h.verify()).toEqual([]);
  });

  it("refuses to let ledger rows be changed or removed", async () => {
    await expect(h.db.handle.db.execute(sql`update postings set points = points + 1`)).rejects.toThrow();
    await expect(h.db.handle.db.execute(sql`delete from entries`)).rejects.toThrow();
    const unbalanced = await h.db.handle.db
      .execute(sql`insert into entries (posting_id, account, amount) values ('txn_unbalanced', 'operator:bonus', 5)`)
      .catch((err: { cause?: { message?: string } }) => err.cause?.message ?? "");
    expect(unbalanced).toMatch(/does not balance/);
  });

  it("reports a member whose balance does not match its entries, and the command exits non-zero", async () => {
    await h.db.handle.db.execute(sql`insert into members (id, available) values ('mbr_tamperedtamperedtampered0', 7)`);
    const breaches = await h.verify();
    expect(breaches.map((b) => b.invariant)).toEqual(
      expect.arrayContaining(["member balances equal the sum of their entries", "released lots add up to max(available + held, 0), unreleased lots to pending"]),
    );
    if (h.db.url) {
      let status = 0;
      let output = "";
      try {
        execFileSync(process.execPath, ["--import", "tsx", "scripts/ledger-verify.ts"], { env: { ...process.env, DATABASE_URL: h.db.url }, encoding: "utf8" });
      } catch (err) {
        status = (err as { status: number }).status;
        output = (err as { stdout: string }).stdout;
      }
      expect(status).toBe(1);
      expect(output).toMatch(/BREACH\s+member balances equal the sum of their entries/);
    }
    await h.db.handle.db.execute(sql`delete from members where id = 'mbr_tamperedtamperedtampered0'`);
    expect(await h.verify()).toEqual([]);
  });

  it("says in one line, without a stack trace, when the embedded database is in use", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "coalesce-verify-"));
    try {
      mkdirSync(join(dataDir, "pglite"), { recursive: true });
      // As `npm start` leaves it while it runs: a lock file naming a live process (this one).
      writeFileSync(join(dataDir, "pglite.lock"), String(process.pid));
      const { DATABASE_URL: _unset, ...env } = process.env;
      const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/ledger-verify.ts"], { env: { ...env, DATA_DIR: dataDir }, encoding: "utf8" });
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/in use by process [0-9]+ \(is `npm start` running\?\)/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
