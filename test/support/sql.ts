import type { Database, Executor } from "../../src/db/database.js";

class Rollback extends Error {}

/** Runs `body` in a transaction and rolls it back, whatever happens: SQL tests leave nothing. */
export async function inRolledBackTransaction(db: Database, body: (tx: Executor) => Promise<void>): Promise<void> {
  await db
    .transaction(async (tx) => {
      await body(tx);
      throw new Rollback();
    })
    .catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
}
