import { z } from "@hono/zod-openapi";
import type { ErrorCode } from "../errors.js";
import { PROBLEM_CODES } from "./problem-catalog.js";

export const ProblemSchema = z
  .object({
    type: z.string().max(2048).openapi({ description: "A URI of a page saying what the code means and what to do.", example: "https://coalesce.example/problems/insufficient_points" }),
    title: z.string().max(200),
    status: z.int().min(400).max(599),
    detail: z.string().max(2000),
    code: z.enum(PROBLEM_CODES as [ErrorCode, ...ErrorCode[]]).openapi({ example: "insufficient_points" }),
    request_id: z.string().max(64).openapi({ example: "req_01jd8x9k2m3n4p5q6r7s8t9v0w" }),
    errors: z.array(z.object({ path: z.string().max(300), message: z.string().max(500) })).max(100).optional(),
  })
  .openapi("Problem", { description: "RFC 9457 problem details." });

export interface ProblemResponse {
  description: string;
  content: { "application/problem+json": { schema: typeof ProblemSchema } };
}

/** The codes each route declares for a status, read back when the document is assembled (src/app.ts). */
const declared = new WeakMap<object, ErrorCode[]>();

/**
 * A route's own problem answer for one status and the codes it can carry there. Codes every
 * route of its kind can give (authentication, validation, limits) are added for all routes at once.
 */
function problem(description: string, ...codes: ErrorCode[]): ProblemResponse {
  const response: ProblemResponse = { description, content: { "application/problem+json": { schema: ProblemSchema } } };
  declared.set(response, codes);
  return response;
}

export function declaredCodes(response: object): ErrorCode[] | undefined {
  return declared.get(response);
}

export { problem };
