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
  parseConfigText,
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

/** The problems of a config, none when it loads. */
function problemsIfAny(raw: unknown): string[] {
  try {
    parseConfig(raw, "/opt/agent", "test.json");
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
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

const PATH_KEYS: [string, (v: string) => Record<string, unknown>][] = [
  ["logging.log_file", (v) => ({ logging: { log_file: v } })],
  ["state.path", (v) => ({ state: { path: v } })],
  ["printer.path", (v) => ({ printer: { transport: "file", path: v } })],
  ["render.templates_path", (v) => ({ render: { templates_path: v } })],
  ["render.profiles_path", (v) => ({ render: { profiles_path: v } })],
  ["server.ca_file", (v) => ({ server: { ca_file: v } })],
];

Deno.test("a path holding any control character (a JSON escape in a Windows path) is refused with the fix, in every path key", () => {
  const base = { terminal_identity: { terminal_id: "P" } };
  for (const [key, at] of PATH_KEYS) {
    for (let code = 0; code <= 0x7f; code++) {
      const control = code < 0x20 || code === 0x7f;
      const path = `C:${String.fromCharCode(code)}emp`;
      const p = problemsIfAny({ ...base, ...at(path) });
      if (!control) {
        assertEquals(p.filter((x) => x.startsWith(key)), [], `${key} with U+${code}: accepted`);
        continue;
      }
      assertEquals(p.length, 1, `${key} with U+${code.toString(16)}: ${p}`);
      assert(p[0].startsWith(`${key}:`), p[0]);
      assertMatch(p[0], /control character .*write \\\\ or \/ in JSON paths/);
    }
  }
  // what a technician typed: "C:\temp\new.log" parses as C:<TAB>emp<LF>ew.log
  const typed = parseConfigText(
    String
      .raw`{"terminal_identity": {"terminal_id": "P"}, "logging": {"log_file": "C:\temp\new.log"}}`,
    "t.json",
  );
  assertMatch(problems(typed)[0], /^logging\.log_file: .*"\\t"/);
});

Deno.test("the file is JSONC: comments and trailing commas load; each syntax error names its line, column and cause", () => {
  const ok = parseConfigText(
    `{
  // the original agent's docs show comments like this
  "terminal_identity": { "terminal_id": "POS-1", }, /* and this */
  "logging": { "level": "debug" },
}`,
    "c.json",
  );
  const c = parseConfig(ok, "/opt/agent", "c.json");
  assertEquals(c.terminal_identity.terminal_id, "POS-1");
  assertEquals(c.logging.level, "DEBUG", "case does not matter to a person");
  const bad: [string, string, RegExp][] = [
    ["empty", "", /the file is empty/],
    ["blank", "  \n\n", /the file is empty/],
    ["a BOM only", "\uFEFF", /the file is empty/],
    [
      "a brace missing",
      `{\n  "terminal_identity": { "terminal_id": "P"\n`,
      /line 3 .*a `}` is missing/,
    ],
    ["a comma missing", `{\n "a": 1\n "b": 2\n}`, /line 3 column 2: a `,` is missing/],
    ["a colon missing", `{ "a" 1 }`, /line 1 column 7: a `:` is missing/],
    ["one brace too many", `{ "a": 1 }}`, /line 1 column 11: text after the end/],
    [
      "a backslash path",
      String.raw`{ "state": { "path": "C:\PrintAgent\state" } }`,
      /line 1 .*write \\\\ or \//,
    ],
    ["a string not closed", `{ "a": "b }`, /a string is not closed/],
    ["single quotes", `{ 'a': 1 }`, /line 1 column 3: /],
  ];
  for (const [name, text, want] of bad) {
    let message = "";
    try {
      parseConfigText(text, "c.json");
    } catch (e) {
      assert(e instanceof ConfigError, name);
      message = e.message;
    }
    assertMatch(message, want, name);
    assert(!/position \d+/.test(message), `${name}: a line and column, not an offset`);
  }
});

Deno.test("enumerations are taken in any case: status_method, logging.level", () => {
  const c = parseConfig(
    {
      terminal_identity: { terminal_id: "P" },
      server: { status_method: "patch" },
      logging: { level: "warning" },
    },
    "/opt/agent",
    "t.json",
  );
  assertEquals([c.server.status_method, c.logging.level], ["PATCH", "WARNING"]);
  assertMatch(
    problems({ terminal_identity: { terminal_id: "P" }, logging: { level: "loud" } })[0],
    /logging\.level/,
  );
});
