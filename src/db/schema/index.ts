export * from "./partners.js";
