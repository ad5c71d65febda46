import { and, eq, sql } from "drizzle-orm";
import type { Database, Tx } from "./db/database.js";
import { idempotencyKeys } from "./db/schema/index.js";
import { DomainError } from "./errors.js";

export interface IdempotencyClaim {
  scope: string;
  key: string;
  /** Hash of method, path and body: a retry must match it exactly. */
  fingerprint: string;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** Refusals that are not the outcome of the request itself and so are never stored. */
const TRANSIENT = new Set(["rate_limited", "service_unavailable", "internal_error", "idempotency_key_reused"]);

/**
 * Runs `effect` at most once per (scope, key). The claim, the effect and the stored answer
 * commit together, so a crash leaves either all of them or none (and the retry runs it again).
 * A concurrent duplicate waits on the claim's unique key and then replays the stored answer.
 * Business refusals (typed domain errors) are stored like successes: a retry gets the same answer.
 */
export async function runIdempotent(
  db: Database,
  claim: IdempotencyClaim,
  effect: (tx: Tx) => Promise<StoredResponse>,
  refusal: (err: DomainError) => StoredResponse,
  /** Runs first in the same transaction (the request token's jti is spent there). */
  before: (tx: Tx) => Promise<void> = async () => undefined,
): Promise<StoredResponse & { replayed: boolean }> {
  return db.transaction(async (tx) => {
    await before(tx);
    const inserted = (await tx.execute(
      sql`insert into idempotency_keys (scope, key, fingerprint) values (${claim.scope}, ${claim.key}, ${claim.fingerprint})
          on conflict do nothing returning 1 as claimed`,
    )) as unknown as { rows: unknown[] };
    if (inserted.rows.length === 0) {
      const [stored] = await tx
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key)));
      if (!stored || stored.statusCode === null) throw new Error("idempotency record vanished or incomplete");
      if (stored.fingerprint !== claim.fingerprint)
        throw new DomainError("idempotency_key_reused", "This Idempotency-Key was used for a different request.");
      return { status: stored.statusCode, body: stored.responseBody, replayed: true };
    }
    let response: StoredResponse;
    try {
      response = await tx.transaction((sp) => effect(sp));
    } catch (err) {
      if (!(err instanceof DomainError) || TRANSIENT.has(err.code)) throw err;
      response = refusal(err);
    }
    await tx
      .update(idempotencyKeys)
      .set({ statusCode: response.status, responseBody: response.body as object })
      .where(and(eq(idempotencyKeys.scope, claim.scope), eq(idempotencyKeys.key, claim.key)));
    return { ...response, replayed: false };
  });
}
