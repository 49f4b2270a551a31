/**
 * build.ts: the `deno compile` command line (target, permissions, includes, icon), the clear
 * message when the base runtime cannot be had, and — where DENORT_BIN names a runtime for this
 * host — the built binary itself.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { compileArgs, INCLUDES, PERMISSIONS, runtimeFor, runtimeHelp } from "../build.ts";
import { VERSION } from "../src/version.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("the Windows build targets x86_64-pc-windows-msvc with baked permissions, includes and an icon", () => {
  const a = compileArgs("windows", ROOT);
  assertEquals(a.slice(0, 5), [
    "compile",
    "--target",
    "x86_64-pc-windows-msvc",
    "--output",
    `${ROOT}/dist/agent.exe`,
  ]);
  for (
    const p of [
      "--allow-ffi",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
    ]
  ) {
    assert(a.includes(p), `missing ${p}`);
  }
  assert(!a.includes("--allow-all") && !a.includes("-A"), "no blanket permission");
  assert(
    a.some((x) => x.startsWith("--allow-run=") && x.endsWith("sc.exe")),
    "only sc.exe may be run",
  );
  for (const inc of INCLUDES) assertEquals(a[a.indexOf(`${ROOT}/${inc}`) - 1], "--include", inc);
  assertEquals(a[a.indexOf("--icon") + 1], `${ROOT}/assets/agent.ico`);
  assert(
    a.includes("--v8-flags=--max-semi-space-size=2,--optimize-for-size"),
    "the V8 flags the bench measured with",
  );
  assertEquals(a.at(-1), `${ROOT}/dist/agent.js`, "agent.exe is made of the shipped bundle");
  assertEquals(PERMISSIONS.length, 7);
});

Deno.test("the host build has no icon and its own output name", () => {
  const a = compileArgs("host", ROOT);
  assertEquals(a[2], Deno.build.target);
  assert(!a.includes("--icon"));
});

Deno.test("the icon is a valid .ico file", async () => {
  const b = await Deno.readFile(`${ROOT}/assets/agent.ico`);
  assertEquals([...b.slice(0, 4)], [0, 0, 1, 0]);
});

Deno.test("deno.json's version is the agent's version", async () => {
  assertEquals(JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).version, VERSION);
});

Deno.test("a failed runtime download is explained with what to do", () => {
  const msg = runtimeHelp(
    "x86_64-pc-windows-msvc",
    "error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-pc-windows-msvc.zip): dns error",
  );
  assertMatch(msg!, /DENORT_BIN=\/path\/to\/denort\.exe/);
  assertMatch(msg!, /denort-x86_64-pc-windows-msvc\.zip/);
  assertEquals(runtimeHelp("x", "error: Module not found"), null);
});

Deno.test({
  name: `deno task build stops with that message and a non-zero exit when no runtime can be had${
    Deno.env.get("DENORT_BIN") ? " (ignored: DENORT_BIN is set, the next test builds for real)" : ""
  }`,
  ignore: !!Deno.env.get("DENORT_BIN"),
  async fn() {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}/build.ts`, "--target", "windows"],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    // Here dl.deno.land is unreachable; on a machine that reaches it the build succeeds instead.
    if (r.success) {
      // a machine that reaches dl.deno.land builds: then the executable must be there
      assert((await Deno.stat(`${ROOT}/dist/agent.exe`)).size > 1_000_000);
    } else {
      assertEquals(r.code, 1);
      assertMatch(err, /could not get its base runtime \(denort\) for x86_64-pc-windows-msvc/);
    }
  },
});

Deno.test({
  // The name says why it is ignored, where it is: the compiled binary needs deno compile's base
  // runtime (denort), which this workplace cannot download; DENORT_BIN points at a local copy.
  name: `with DENORT_BIN, the built host binary answers --version and --selftest${
    Deno.env.get("DENORT_BIN")
      ? ""
      : " (ignored: DENORT_BIN is not set, and deno compile cannot download denort here)"
  }`,
  ignore: !Deno.env.get("DENORT_BIN"),
  async fn() {
    const b = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}/build.ts`, "--target", "host"],
    }).output();
    assert(b.success, "build failed");
    const exe = `${ROOT}/dist/agent`;
    const v = await new Deno.Command(exe, { args: ["--version"], stdout: "piped" }).output();
    assertMatch(
      new TextDecoder().decode(v.stdout),
      new RegExp(`print-agent ${VERSION.replaceAll(".", "\\.")}`),
    );
    const s = await new Deno.Command(exe, { args: ["--selftest", "--json"], stdout: "piped" })
      .output();
    assert(JSON.parse(new TextDecoder().decode(s.stdout)).checks.length > 0);
  },
});

Deno.test("the base runtime is per target: DENORT_BIN for one --target, DENORT_BIN_<TARGET> for each; a missing file is said before compiling", async () => {
  const real = await Deno.makeTempFile({ suffix: "-denort" });
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const both = ["windows", "host"];
  assertEquals(runtimeFor("windows", ["windows"], env({ DENORT_BIN: real })), {
    path: real,
    problem: null,
  });
  const shared = runtimeFor("windows", both, env({ DENORT_BIN: real }));
  assertMatch(shared.problem!, /one runtime, but windows and host are built.*DENORT_BIN_WINDOWS/);
  assertEquals(
    runtimeFor("host", both, env({ DENORT_BIN_WINDOWS: real, DENORT_BIN_HOST: real })).path,
    real,
  );
  assertEquals(runtimeFor("host", both, env({ DENORT_BIN_WINDOWS: real })), {
    path: null,
    problem: null,
  }, "the host downloads its own");
  const missing = runtimeFor(
    "windows",
    ["windows"],
    env({ DENORT_BIN: "/nonexistent/denort.exe" }),
  );
  assertMatch(missing.problem!, /DENORT_BIN=\/nonexistent\/denort\.exe: no such file/);
  assert(!/download/.test(missing.problem!), "not blamed on the download");
  await Deno.remove(real);
});
