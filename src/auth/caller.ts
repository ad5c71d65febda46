export type StaffRole = "admin" | "finance";

export type Caller =
  | { kind: "partner"; partnerId: string; kid: string; jti: string }
  | { kind: "staff"; issuer: string; sub: string; role: StaffRole; kid: string; jti: string };

/** What a route demands of its caller. */
export type Requirement = { kind: "partner" } | { kind: "staff"; role: StaffRole };

/** Idempotency keys and other per-caller state are scoped to the partner, or to the operator issuer. */
export function callerScope(caller: Caller): string {
  return caller.kind === "partner" ? `partner:${caller.partnerId}` : `staff:${caller.issuer}`;
}
