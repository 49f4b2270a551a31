import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertThrows,
} from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import {
  ConfigError,
  configJsonSchema,
  loadConfig,
  maskedConfig,
  parseConfig,
} from "../src/config.ts";
import { startAgent, StartupError } from "../src/run.ts";
import { join } from "node:path";

const SEED = {
  terminal_identity: { terminal_id: "POS-001", printer_role: "cashier", location_id: 1 },
  server: { poll_interval: 2, heartbeat_interval: 30 },
  printer: { name: "TP808", brand: "HRPT", paper_width: 80 },
  error_handling: { max_retry: 3, backoff_seconds: [5, 10, 30] },
  logging: { level: "INFO", log_file: "print_agent.log" },
};

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, "/opt/agent", "test.json");
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("the seed agent's config loads unchanged, with defaults for everything new", () => {
  const c = parseConfig(SEED, "/opt/agent");
  assertEquals(c.terminal_identity.terminal_id, "POS-001");
  assertEquals(c.server.poll_interval, 2);
  assertEquals(c.printer.brand, "HRPT");
  assertEquals(c.error_handling.backoff_seconds, [5, 10, 30]);
  assertEquals(c.logging.log_file, "/opt/agent/print_agent.log");
  assertEquals(c.state.path, "/opt/agent/state");
  assertEquals(c.printer.transport, "winspool");
});

Deno.test("the shipped print_agent_config.json is valid", async () => {
  const c = await loadConfig(new URL("../print_agent_config.json", import.meta.url).pathname);
  assertEquals(c.printer.name, "TP808");
});

Deno.test("a wrong type names the key, the value found and what is expected", () => {
  const p = problems({ ...SEED, server: { poll_interval: "2" } });
  assertEquals(p.length, 1);
  assertMatch(p[0], /^server\.poll_interval: found "2"; .*expected number/);
});

Deno.test("a missing required key is named", () => {
  const p = problems({ ...SEED, terminal_identity: { printer_role: "cashier" } });
  assertMatch(p[0], /^terminal_identity\.terminal_id: found nothing \(key missing\)/);
});

Deno.test("an unknown key (a typo) is an error, at any depth", () => {
  assertMatch(problems({ ...SEED, printer: { brnad: "HRPT" } })[0], /^printer\.brnad: unknown key/);
  assertMatch(problems({ ...SEED, sever: {} })[0], /^sever: unknown key/);
});

Deno.test("paper_width accepts columns and millimetres only", () => {
  assertMatch(
    problems({ ...SEED, printer: { paper_width: 57 } })[0],
    /printer\.paper_width: found 57; expected one of 32, 42, 48/,
  );
});

Deno.test("relative paths resolve against the config file's folder, not the working directory", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(file, JSON.stringify({ ...SEED, state: { path: "data/state" } }));
  const c = await loadConfig(file);
  assertEquals(c.state.path, join(dir.path, "data/state"));
  assertEquals(c.logging.log_file, join(dir.path, "print_agent.log"));
});

Deno.test("a file that is not JSON, or missing, is a ConfigError naming the file", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "c.json");
  await Deno.writeTextFile(file, "{ terminal_identity: ");
  await assertRejects(() => loadConfig(file), /c\.json[\s\S]*not valid JSON/);
  await assertRejects(() => loadConfig(join(dir.path, "nope.json")), /file not found/);
});

Deno.test("a Notepad BOM does not break loading", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "c.json");
  await Deno.writeTextFile(file, "\uFEFF" + JSON.stringify(SEED));
  assertEquals((await loadConfig(file)).printer.name, "TP808");
});

Deno.test("an unknown printer brand stops the start with the known brands listed, before any printer is touched", async () => {
  await using dir = await withTmpDir();
  const c = parseConfig(
    { ...SEED, printer: { brand: "ACME", transport: "virtual", path: "out" } },
    dir.path,
  );
  const e = await startAgent(c, { keepLogging: true }).then(() => null, (e) => e);
  assert(e instanceof StartupError);
  assertMatch(e.message, /Unknown printer brand "ACME": known brands are hrpt, HRPT/);
  const touched = await Deno.stat(join(dir.path, "out")).then(() => true, () => false);
  assertEquals(touched, false);
});

Deno.test("secrets are masked in the printed configuration", () => {
  const c = parseConfig(
    { ...SEED, server: { token: "s3cr3t-token" }, local_api: { token: "abc" } },
    "/x",
  );
  const m = maskedConfig(c) as { server: { token: string }; local_api: { token: string } };
  assertEquals(m.server.token, "s3***");
  assert(!JSON.stringify(m).includes("s3cr3t"));
});

Deno.test("docs/config.schema.json is the schema the code validates with", async () => {
  const committed = JSON.parse(
    await Deno.readTextFile(new URL("../docs/config.schema.json", import.meta.url)),
  );
  assertEquals(committed, configJsonSchema(), "run `deno task schema` to regenerate");
});

Deno.test("parseConfig rejects a non-object", () => {
  assertThrows(() => parseConfig([], "/x"), /Invalid configuration/);
});
