import { sql } from "drizzle-orm";

/**
 * drizzle-orm 0.45's pooled `transaction()` (node-postgres and neon-serverless alike) runs BEGIN
 * before the try/finally that releases the client, so a BEGIN failing on a connection cut right
 * after checkout leaks that pool slot for the life of the process; and a client whose ROLLBACK
 * failed goes back to the pool as healthy (drizzle-team/drizzle-orm#6241, #6114, still open).
 * The soak found it: after a few thousand killed connections every slot was leaked and requests
 * waited for a connection that never came. This puts the same method back in the fixed shape:
 * every checkout is released exactly once, and destroyed when its connection is in doubt; the
 * caller sees the original error. Remove when upstream ships the fix.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const PATCHED = Symbol.for("coalesce.pooledTransaction");

export function fixPooledTransactions(Session: Any, Transaction: Any, isPool: (client: unknown) => boolean): void {
  if (Session.prototype[PATCHED]) return;
  Session.prototype[PATCHED] = true;
  Session.prototype.transaction = async function (this: Any, fn: (tx: Any) => Promise<unknown>, config?: Any) {
    const pooled = isPool(this.client);
    const session = pooled ? new Session(await this.client.connect(), this.dialect, this.schema, this.options) : this;
    const tx = new Transaction(this.dialect, session, this.schema);
    // Set when the connection cannot be trusted any more: the pool then destroys it.
    let broken: unknown;
    try {
      try {
        await tx.execute(sql`begin${config ? sql` ${tx.getTransactionConfigSQL(config)}` : undefined}`);
      } catch (err) {
        broken = err;
        throw err;
      }
      try {
        const result = await fn(tx);
        await tx.execute(sql`commit`);
        return result;
      } catch (err) {
        try {
          await tx.execute(sql`rollback`);
        } catch (rollbackErr) {
          broken = rollbackErr;
        }
        throw err;
      }
    } finally {
      if (pooled) session.client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
    }
  };
}
