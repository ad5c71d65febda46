import type { Caller } from "../auth/caller.js";
import type { VerifiedToken } from "../auth/verify.js";
import type { Services } from "../services.js";

export interface AppEnv {
  Variables: {
    requestId: string;
    services: Services;
    /** Set by the authentication middleware on protected routes. */
    caller: Caller;
    /** The verified request token; spent (jti recorded) by `spendToken` when the request acts. */
    token: VerifiedToken & { spent: boolean };
    /** The exact request body bytes (what `bsh` and idempotency fingerprints cover). */
    rawBody: Uint8Array;
  };
}
