/** The agent's version; `build.ts` checks it matches deno.json. */
export const VERSION = "0.1.0";
