import type { Services } from "../services.js";

/**
 * A periodic job: bounded work per run, safe to run concurrently with itself and to repeat.
 * Its own module, so domains that define jobs and the registry that runs them import no circle.
 */
export interface Job {
  name: string;
  run(services: Services, now: Date): Promise<number>;
}
