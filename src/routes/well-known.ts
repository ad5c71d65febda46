import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/env.js";
import { platformJwks } from "../platform/keys.js";

const route = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["Platform"],
  summary: "The platform's public signing keys",
  description: "Verify final statements and webhook signatures (`Coalition-Signature`) against these keys.",
  responses: {
    200: {
      description: "A JWKS document.",
      content: { "application/json": { schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi("Jwks") } },
    },
  },
});

export function registerWellKnown(app: OpenAPIHono<AppEnv>) {
  app.openapi(route, (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(platformJwks(c.var.services.config), 200);
  });
}
