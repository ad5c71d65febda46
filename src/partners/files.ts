import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { PartnerDocument } from "./document.js";
import { fieldErrors } from "../http/validation.js";

export class PartnerFilesError extends Error {
  override name = "PartnerFilesError";
  constructor(readonly problems: string[]) {
    super(`partner documents are invalid:\n  ${problems.join("\n  ")}`);
  }
}

const MAX_FILE_BYTES = 256 * 1024;

/**
 * Reads and validates every `*.json` in `dir`. All problems are collected, each naming its
 * file and field (`partners/aurora-hotels.json: settlement.currency: …`), before anything is applied.
 */
export async function loadPartnerFiles(dir: string): Promise<PartnerDocument[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  const problems: string[] = [];
  const docs: PartnerDocument[] = [];
  const ids = new Map<string, string>();
  for (const name of names) {
    const path = join(dir, name);
    const shown = join(basename(dir), name);
    const text = await readFile(path, "utf8");
    if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
      problems.push(`${shown}: larger than ${MAX_FILE_BYTES} bytes`);
      continue;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      problems.push(`${shown}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    const parsed = PartnerDocument.safeParse(raw);
    if (!parsed.success) {
      for (const e of fieldErrors(parsed.error)) problems.push(`${shown}: ${e.path || "(document)"}: ${e.message}`);
      continue;
    }
    const doc = parsed.data;
    if (name !== `${doc.id}.json`) problems.push(`${shown}: id: "${doc.id}" must match the file name (${doc.id}.json)`);
    const other = ids.get(doc.id);
    if (other) problems.push(`${shown}: id: "${doc.id}" is also used by ${other}`);
    ids.set(doc.id, shown);
    docs.push(doc);
  }
  if (problems.length > 0) throw new PartnerFilesError(problems);
  return docs;
}
