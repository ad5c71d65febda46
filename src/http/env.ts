import type { Services } from "../services.js";

export interface AppEnv {
  Variables: {
    requestId: string;
    services: Services;
  };
}
