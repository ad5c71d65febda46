import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Which version of each SQL source file (`sql/*.sql`: functions and trigger functions) the
 * database runs: `npm run db:migrate` re-applies the sources when a file's hash differs.
 */
export const functionSources = pgTable("schema_function_sources", {
  file: text("file").primaryKey(),
  sha256: text("sha256").notNull(),
  appliedAt: timestamp("applied_at", { withTimezone: true, precision: 3 }).notNull(),
});
