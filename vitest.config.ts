import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";

export default defineConfig({
  test: {
    // CI also writes a JSON report, from which .ci/run prints one plain summary line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: "test-results/vitest.json" }]] : ["default"],
    projects: [
      {
        // The app on Node against Postgres (DATABASE_URL) or PGlite, a fresh database per file.
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts", "test/sql/**/*.test.ts"],
          globalSetup: ["test/setup/node-global.ts"],
          // Generous bounds: a test is bounded by the work it does (counts, not clocks); these only
          // catch a hang, with a wide margin for a slow or busy machine.
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The real Worker in workerd, reaching Postgres through @neondatabase/serverless.
        plugins: [
          cloudflareTest(({ inject }) => {
            const pg = inject("workersPg");
            const staff = inject("workersStaff");
            return {
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  DATABASE_URL: pg.available ? pg.databaseUrl : "postgres://unavailable@127.0.0.1:1/none",
                  NEON_WS_PROXY: pg.wsProxy,
                  ENVIRONMENT: "test",
                  OPERATOR_JWKS: staff.jwks,
                  PLATFORM_SIGNING_KEY: staff.platformKey,
                  // The members' economy's settings reach the Worker as vars; one as a number, as TOML may write it.
                  MEMBER_TRANSFER_DAILY_POINTS: 700,
                  REFERRAL_BONUS_POINTS: "150",
                },
              },
            };
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts"],
          globalSetup: ["test/setup/workers-global.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
