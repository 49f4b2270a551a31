/** The agent's version; `build.ts` checks it matches deno.json. */
export const VERSION: string = (globalThis as { PA_BUILD_VERSION?: string }).PA_BUILD_VERSION ??
  "0.1.0";

/**
 * V8 flags the agent runs with (baked into the binary by build.ts, used by the dev service
 * command line and the bench). A small young generation: the agent's working set is ~16 MB, and
 * V8's default semi-space growth under a burst of jobs left ~50 MB of committed heap behind
 * (measured by `deno task bench`).
 */
export const V8_FLAGS = "--max-semi-space-size=2,--optimize-for-size";
