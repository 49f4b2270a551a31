/** `deno task demo` as a new user runs it: three stations, and the bar ticket on the backup. */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";

const DEMO = new URL("../src/demo.ts", import.meta.url).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

Deno.test("the demo prints on the cashier and kitchen stations and fails the bar ticket over to the kitchen", async () => {
  await using dir = await withTmpDir();
  const out = `${dir.path}/demo-out`;
  await Deno.mkdir(`${out}/printer/stale`, { recursive: true }); // a previous run's leftovers
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      DEMO,
      "--exit-after-jobs",
      "--out",
      out,
      "--port",
      String(freePort()),
      "--api-port",
      String(freePort()),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout);
  assert(r.success, text + new TextDecoder().decode(r.stderr));
  assertMatch(text, /\.svg/);
  const files = async (station: string) =>
    (await Array.fromAsync(Deno.readDir(`${out}/printer/${station}`))).map((e) => e.name);
  assert((await files("cashier")).some((f) => f.endsWith("job-1.txt")), "the receipt");
  const kitchen = await files("kitchen");
  const backup = kitchen.find((f) => f.endsWith("job-3.txt"));
  assert(backup, `the bar ticket on the kitchen printer: ${kitchen}`);
  assertMatch(
    await Deno.readTextFile(`${out}/printer/kitchen/${backup}`),
    /C A D A N G A N[\s\S]*DARI BAR/,
  );
  assert(!(await Deno.stat(`${out}/printer/stale`).then(() => true, () => false)), "a clean start");
});

Deno.test("the demo's command line: --help lists its flags; a port in use or an unknown flag is said, not thrown", async () => {
  const demo = async (...args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", DEMO, ...args],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
  };
  const help = await demo("--help");
  assertEquals(help.code, 0);
  for (const flag of ["--port", "--api-port", "--out", "--exit-after-jobs"]) {
    assert(help.out.includes(flag), `--help names ${flag}`);
  }
  const unknown = await demo("--bogus");
  assertEquals(unknown.code, 2);
  assert(!unknown.err.includes("Uncaught"), unknown.err);
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const taken = await demo("--port", String(port), "--out", await Deno.makeTempDir());
  assertEquals(taken.code, 2);
  assert(taken.err.includes(`port ${port} (--port) is in use`), taken.err);
  assert(!taken.err.includes("Uncaught"), taken.err);
});

Deno.test({
  name:
    "Ctrl+C under the README's own `npx … task demo` stops the agent cleanly, even with a second signal while it stops",
  // a terminal's Ctrl+C: SIGINT to the whole process group (npx, deno task, the demo)
  ignore: !(await Deno.stat("/usr/bin/setsid").then(() => true, () => false)),
  async fn() {
    await using dir = await withTmpDir();
    const [port, api] = [freePort(), freePort()];
    const root = new URL("..", import.meta.url).pathname;
    const cmd = `cd '${root}' && exec npx --yes deno@${Deno.version.deno} task demo ` +
      `--port ${port} --api-port ${api} --out '${dir.path}'`;
    const child = new Deno.Command("/usr/bin/setsid", {
      args: ["bash", "-c", cmd],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const log = `${dir.path}/print_agent.log`;
    const text = () => Deno.readTextFile(log).catch(() => "");
    for (let i = 0; i < 600 && !/\[JOB 3\] \[OK\]/.test(await text()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // setsid made the child the leader of its own group: its pid is the group's id. A second
    // signal while stopping (Ctrl+C twice, or npm's SIGTERM to its child) must not cut the stop
    await new Deno.Command("kill", { args: ["-INT", "--", `-${child.pid}`] }).output();
    for (let i = 0; i < 100 && !/\[STOP\] Stopping/.test(await text()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Deno.Command("kill", { args: ["-TERM", "--", `-${child.pid}`] }).output();
    await child.status;
    for (let i = 0; i < 100 && !/\[OK\] Print Agent stopped/.test(await text()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertMatch(await text(), /\[STOP\] Stopping Print Agent[\s\S]*\[OK\] Print Agent stopped/);
  },
});
