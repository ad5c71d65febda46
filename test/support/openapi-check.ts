/**
 * Checks an answer against what `/openapi.json` documents for its route: the status is listed,
 * the content type is the documented one, and a JSON body validates against the documented
 * schema (JSON Schema 2020-12, as OpenAPI 3.1 uses it). Independent of the zod schemas the
 * document is generated from, so it also catches a document that says something else.
 */
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

interface MediaType {
  schema?: unknown;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
}

const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/");

export function responseChecker(doc: OpenApiDoc) {
  // Not strict: the document carries OpenAPI's own keywords (example, discriminator…) too.
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema(doc as object, "openapi");
  const compiled = new Map<string, ValidateFunction>();

  /** Why the answer does not match the document, or null when it does. */
  return function check(method: string, path: string, status: number, contentType: string | null, body: unknown): string | null {
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) return `${method} ${path} is not documented`;
    const documented = op.responses[String(status)] ? String(status) : op.responses.default ? "default" : undefined;
    if (!documented) return `${status} is not a documented answer of ${method} ${path} (documented: ${Object.keys(op.responses).join(", ")})`;
    const content = op.responses[documented]!.content;
    if (!content) return null;
    const type = (contentType ?? "").split(";")[0]!.trim();
    if (!content[type]) return `${status} came as "${type}", documented as ${Object.keys(content).join(" or ")}`;
    if (!content[type]!.schema || !/json/.test(type)) return null;
    const ref = `openapi#/${pointer("paths", path, method.toLowerCase(), "responses", documented, "content", type, "schema")}`;
    let validate = compiled.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      compiled.set(ref, validate);
    }
    if (validate(body)) return null;
    return `${status} body does not match the documented schema: ${ajv.errorsText(validate.errors, { separator: "; " })}`;
  };
}
