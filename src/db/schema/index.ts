export * from "./partners.js";
export * from "./requests.js";
export * from "./members.js";
export * from "./ledger.js";
export * from "./settlement.js";
export * from "./events.js";
export * from "./sources.js";
export * from "./rewards.js";
