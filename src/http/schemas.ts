import { z } from "@hono/zod-openapi";
import type { ErrorCode } from "../errors.js";
import { STATUS_BY_CODE } from "./problem.js";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "https://docs.coalesce.dev/problems/insufficient-points" }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.enum(Object.keys(STATUS_BY_CODE) as [ErrorCode, ...ErrorCode[]]).openapi({ example: "insufficient_points" }),
    request_id: z.string().openapi({ example: "req_01jd8x9k2m3n4p5q6r7s8t9v0w" }),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details." });

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const commonErrors = {
  400: problem("Malformed request (body is not JSON)."),
  401: problem("Missing, malformed or invalid request signature."),
  403: problem("Partner suspended, or the caller's role may not use this route."),
  413: problem("Body over 64 KiB."),
  415: problem("Body is not application/json."),
  422: problem("Validation failed or the request was refused by a business rule."),
  429: problem("Rate limited; see Retry-After."),
  503: problem("Temporarily unavailable; see Retry-After."),
} as const;

export { problem };
