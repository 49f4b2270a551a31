/**
 * The contract between tests/windows/provision.sh and the bed runner, on the first-run path that
 * once broke CI on fresh machines: debootstrap, mount and chroot are stand-ins on PATH here that
 * write noise to stdout, as the real tools may; the script's stdout must still be the path alone.
 */
import { assertEquals, assertRejects, assertThrows } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import { parseProvisionResult, provisionBed } from "./windows/provision.ts";

const STANDINS: Record<string, string> = {
  // debootstrap --variant=... --include=... trixie DIR MIRROR
  debootstrap:
    'echo "I: Retrieving InRelease"; mkdir -p "$4/proc"; echo "I: Base system installed"',
  mount: 'echo "mount: $*"',
  umount: 'echo "umount: $*"',
  chroot: 'echo "Setting up wine (10.0) ..."',
};

async function standins(dir: string): Promise<Record<string, string>> {
  await Deno.mkdir(`${dir}/bin`);
  for (const [name, body] of Object.entries(STANDINS)) {
    await Deno.writeTextFile(`${dir}/bin/${name}`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return { PATH: `${dir}/bin:${Deno.env.get("PATH")}` };
}

Deno.test("provision.sh prints only the chroot path on stdout, on the first run and after", async () => {
  await using tmp = await withTmpDir();
  const env = await standins(tmp.path);
  const cache = `${tmp.path}/cache`; // does not exist yet: a machine that never ran the bed
  const first = await provisionBed(cache, { env, stderr: "piped" });
  assertEquals(first.startsWith(`${cache}/trixie-`), true, first);
  await Deno.stat(`${first}/.ready`);
  const again = await provisionBed(cache, { env, stderr: "piped" });
  assertEquals(again, first);
});

Deno.test("provisionBed() refuses a result that is not one absolute path", async (t) => {
  await t.step("a log line before the path", () => {
    assertThrows(
      () => parseProvisionResult("[provision] ready: /var/x\n/var/x\n"),
      /only the chroot path/,
    );
  });
  await t.step("a log line alone", () => {
    assertThrows(() => parseProvisionResult("[provision] ready: /var/x\n"), /only the chroot path/);
  });
  await t.step("nothing", () => {
    assertThrows(() => parseProvisionResult(""), /only the chroot path/);
  });
  await t.step("a path that is not a ready chroot", async () => {
    await using tmp = await withTmpDir();
    const script = `${tmp.path}/p.sh`;
    await Deno.writeTextFile(script, `#!/bin/sh\necho ${tmp.path}/nothing-here\n`, {
      mode: 0o755,
    });
    await assertRejects(
      () => provisionBed(tmp.path, { script, stderr: "piped" }),
      /not a ready chroot/,
    );
  });
});
