import type { z } from "zod";
import { DomainError, type FieldError } from "../errors.js";

/** Turns zod issues into the spec's `errors: [{ path, message }]`, one entry per offending field. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues.slice(0, 50)) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: base ? `${base}.${key}` : key, message: "Unknown field." });
    } else {
      out.push({ path: base, message: issue.message });
    }
  }
  return out;
}

/** What a validation target is called in a problem's detail. */
export const targetName = (target: string) => (target === "json" ? "body" : target === "param" ? "path" : target);

export function validationError(error: z.ZodError, target: string): DomainError {
  return new DomainError("validation_failed", `The request ${targetName(target)} is not valid.`, { errors: fieldErrors(error) });
}
