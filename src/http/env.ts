import type { Caller } from "../auth/caller.js";
import type { RequestVerifier, VerifiedToken } from "../auth/verify.js";
import type { Services } from "../services.js";

export interface AppEnv {
  Variables: {
    requestId: string;
    services: Services;
    /** How signed requests are verified (`authenticate`; the benchmark injects its own). */
    verifyRequest: RequestVerifier;
    /** Set by the authentication middleware on protected routes. */
    caller: Caller;
    /** The verified request token; spent (jti recorded) by `spendToken` when the request acts. */
    token: VerifiedToken & { spent: boolean };
    /** The exact request body bytes (what `bsh` and idempotency fingerprints cover). */
    rawBody: Uint8Array;
  };
}
