/**
 * The signing client the tests, scripts and benchmarks use: the source of the published
 * @coalesce/client package (packages/client), re-exported so its public API stays importable
 * from here. Edit it in packages/client/src/.
 */
export * from "../../packages/client/src/index.js";
