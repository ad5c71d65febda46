/** Copies Swagger UI's files into public/docs/assets/, which Workers serves as static assets. */
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DOCS_ASSET_FILES } from "../src/routes/docs.js";

const from = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const to = join(process.cwd(), "public", "docs", "assets");
mkdirSync(to, { recursive: true });
for (const file of DOCS_ASSET_FILES) copyFileSync(join(from, file), join(to, file));
console.log(`docs assets → ${to}`);
