/**
 * `deno task server`: the reference job server on a port.
 *
 * Flags: `--port 8765`, `--host 127.0.0.1`, `--db reference_server.db` (or `:memory:`),
 * `--token KEY` (require `Authorization: Token KEY`), `--paginate` (DRF pages),
 * `--no-long-poll` (ignore `wait`), `--drf` (a stock Django REST framework backend: PATCH updates,
 * pages of `--page-size` (3) with absolute `next`, filters `terminal`/`state`/`role`,
 * APPEND_SLASH), `--allow-duplicate-uuid`.
 * @module
 */
import { parseArgs } from "node:util";
import { createServerApp } from "./app.ts";
import type { DatabaseSync } from "node:sqlite";

/** Starts the server; resolves to its address and a shutdown function. */
export function startServer(o: {
  port: number;
  host?: string;
  db: string;
  token?: string;
  paginate?: boolean;
  noLongPoll?: boolean;
  drf?: boolean;
  pageSize?: number;
  allowDuplicateUuid?: boolean;
  quiet?: boolean;
}): { port: number; url: string; db: DatabaseSync; shutdown: () => Promise<void> } {
  const { app, close, db } = createServerApp(o);
  const server = Deno.serve({
    port: o.port,
    hostname: o.host ?? "127.0.0.1",
    onListen: () => {},
  }, app.fetch);
  const port = server.addr.port;
  const url = `http://${o.host ?? "127.0.0.1"}:${port}/api`;
  if (!o.quiet) console.log(`Reference job server listening on ${url} (db: ${o.db})`);
  return {
    port,
    url,
    db,
    shutdown: async () => {
      close();
      await server.shutdown();
    },
  };
}

const USAGE =
  "Usage: deno task server [--port 8765] [--host 127.0.0.1] [--db FILE|:memory:] [--token KEY]\n" +
  "                        [--paginate] [--no-long-poll] [--drf [--page-size 3]]\n" +
  "                        [--allow-duplicate-uuid]";

if (import.meta.main) {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args.filter((a) => a !== "--"), // `deno task server -- --port 8766`
      options: {
        port: { type: "string", default: "8765" },
        host: { type: "string", default: "127.0.0.1" },
        db: { type: "string", default: "reference_server.db" },
        token: { type: "string" },
        paginate: { type: "boolean", default: false },
        "no-long-poll": { type: "boolean", default: false },
        drf: { type: "boolean", default: false },
        "page-size": { type: "string", default: "3" },
        "allow-duplicate-uuid": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be 0-65535: current value is ${values.port}`);
    Deno.exit(2);
  }
  const pageSize = Number(values["page-size"]);
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    console.error(
      `--page-size must be a whole number >= 1: current value is ${values["page-size"]}`,
    );
    Deno.exit(2);
  }
  const s = startServer({
    port,
    host: values.host,
    db: values.db!,
    token: values.token,
    paginate: values.paginate,
    noLongPoll: values["no-long-poll"],
    drf: values.drf,
    pageSize,
    allowDuplicateUuid: values["allow-duplicate-uuid"],
  });
  Deno.addSignalListener("SIGINT", async () => {
    await s.shutdown();
    Deno.exit(0);
  });
}
