/**
 * Signed releases (#24): a release runs only when a root built into the agent certified its
 * signing key, the signature covers the very manifest, and the manifest names this agent, this
 * platform, this channel, a newer version reachable from this one, and the very file. Every way
 * of slipping something else in is refused with what was wrong.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import {
  certify,
  compareVersions,
  newKeyPair,
  refuseRelease,
  ROOT_KEYS,
  type SignedRelease,
  signRelease,
} from "../src/site/release.ts";
import { join } from "node:path";
import { testKeys } from "./helpers/release_keys.ts";

const PLATFORM = "x86_64-pc-windows-msvc";
const running = { version: "0.1.0", platform: PLATFORM, channel: "stable", now: Date.now() };

async function fixture() {
  const { root, signing, cert } = await testKeys();
  const file = crypto.getRandomValues(new Uint8Array(4096));
  const release = await signRelease(
    file,
    { version: "0.2.0", platform: PLATFORM, min_from: "0.1.0", channel: "stable" },
    signing.private_key,
    cert,
  );
  return { root, signing, cert, file, release };
}

Deno.test("a release signed by a certified key, for this agent, platform and channel, newer, with its very file, may run", async () => {
  const f = await fixture();
  assertEquals(await refuseRelease(f.release, running, [f.root.public_key], f.file), null);
  // another root among the built-in ones does not matter; the right one does
  const other = await newKeyPair();
  assertEquals(
    await refuseRelease(f.release, running, [other.public_key, f.root.public_key], f.file),
    null,
  );
});

Deno.test("every way of slipping something else in is refused, saying what", async () => {
  const f = await fixture();
  const roots = [f.root.public_key];
  const refused = async (r: SignedRelease, file = f.file, run = running, rs = roots) => {
    const why = await refuseRelease(r, run, rs, file);
    assert(why, `should be refused: ${JSON.stringify(r.manifest)}`);
    return why;
  };
  // any field of the manifest changed after signing: version, platform, channel, file, name
  for (
    const change of [
      { version: "9.9.9" },
      { platform: "x86_64-unknown-linux-gnu" },
      { channel: "beta" },
      { sha256: "0".repeat(64) },
      { size: 1 },
      { min_from: "0.0.0" },
      { name: "other" },
    ]
  ) {
    const r = { ...f.release, manifest: { ...f.release.manifest, ...change } };
    assert(/signature does not verify/.test(await refused(r)), JSON.stringify(change));
  }
  // a signature of garbage, or of another key
  assert(/signature/.test(await refused({ ...f.release, signature: "AAAA" })));
  const stranger = await newKeyPair();
  const byStranger = await signRelease(
    f.file,
    { version: "0.2.0", platform: PLATFORM, min_from: "0.1.0", channel: "stable" },
    stranger.private_key,
    f.cert,
  );
  assert(/signature does not verify/.test(await refused(byStranger)));
  // a signing key no built-in root certified (or a cert changed after the root signed it)
  const selfCert = await certify(
    stranger.private_key,
    stranger.public_key,
    ["stable"],
    "2099-01-01",
  );
  const selfSigned = await signRelease(
    f.file,
    { version: "0.2.0", platform: PLATFORM, min_from: "0.1.0", channel: "stable" },
    stranger.private_key,
    selfCert,
  );
  assert(/not certified by a root/.test(await refused(selfSigned)));
  const widened = { ...f.release, cert: { ...f.cert, channels: ["stable", "beta"] } };
  assert(/not certified by a root/.test(await refused(widened)));
  const longer = { ...f.release, cert: { ...f.cert, not_after: "2999-01-01T00:00:00.000Z" } };
  assert(/not certified by a root/.test(await refused(longer)));
  // an expired signing key
  assert(
    /expired/.test(
      await refused(f.release, f.file, { ...running, now: Date.now() + 2 * 86_400_000 }),
    ),
  );
  // correctly signed, but not for this terminal: platform, channel, a downgrade, too old to update
  const signedAs = async (
    o: Partial<{ version: string; platform: string; min_from: string; channel: string }>,
  ) =>
    await signRelease(
      f.file,
      { version: "0.2.0", platform: PLATFORM, min_from: "0.1.0", channel: "stable", ...o },
      f.signing.private_key,
      await certify(f.root.private_key, f.signing.public_key, ["stable", "beta"], "2099-01-01"),
    );
  assert(
    /for x86_64-unknown-linux-gnu; this is/.test(
      await refused(await signedAs({ platform: "x86_64-unknown-linux-gnu" })),
    ),
  );
  assert(
    /channel beta; this terminal follows stable/.test(
      await refused(await signedAs({ channel: "beta" })),
    ),
  );
  assert(/not newer/.test(await refused(await signedAs({ version: "0.1.0" }))));
  assert(/not newer/.test(await refused(await signedAs({ version: "0.0.9" }))));
  assert(/updates only from 0.1.5/.test(await refused(await signedAs({ min_from: "0.1.5" }))));
  // a channel the cert does not cover
  const stableOnly = await signRelease(
    f.file,
    { version: "0.2.0", platform: PLATFORM, min_from: "0.1.0", channel: "beta" },
    f.signing.private_key,
    f.cert,
  );
  assert(
    /may not sign for channel beta/.test(
      await refused(stableOnly, f.file, { ...running, channel: "beta" }),
    ),
  );
  // the file: truncated at every length class, or one byte changed anywhere
  for (const n of [0, 1, 2048, 4095]) {
    assert(/truncated/.test(await refused(f.release, f.file.subarray(0, n))), `truncated to ${n}`);
  }
  for (const at of [0, 1, 2047, 4095]) {
    const bent = f.file.slice();
    bent[at] ^= 1;
    assert(/not the one the release names/.test(await refused(f.release, bent)), `byte ${at}`);
  }
  // no root built in: nothing is trusted
  assert(/no root key/.test(await refused(f.release, f.file, running, [])));
});

Deno.test("this build trusts no release until the project's root key is built in", async () => {
  assertEquals(ROOT_KEYS.length, 0);
  const f = await fixture();
  assert(/no root key/.test((await refuseRelease(f.release, running))!));
});

Deno.test("versions compare numerically, a pre-release before its release", () => {
  const order = ["0.1.0", "0.1.1", "0.2.0-beta.1", "0.2.0", "0.10.0", "1.0.0"];
  for (let i = 0; i < order.length; i++) {
    for (let j = 0; j < order.length; j++) {
      assertEquals(
        compareVersions(order[i], order[j]),
        Math.sign(i - j),
        `${order[i]} vs ${order[j]}`,
      );
    }
  }
});

Deno.test("deno task release-key makes a root, certifies a signing key with it, and the build's signature verifies", async () => {
  await using tmp = await withTmpDir();
  const run = async (...args: string[]) =>
    await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../src/site/release_key.ts", import.meta.url).pathname, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const root = join(tmp.path, "root.json"), signing = join(tmp.path, "signing.json");
  assert((await run("root", "--out", root)).success);
  assert((await run("signing", "--root", root, "--out", signing, "--channels", "stable")).success);
  assertEquals((await run("nonsense")).code, 2);
  // the build writes <exe>.release.json with the signing key (a stand-in file: no deno compile here)
  const exe = join(tmp.path, "agent.exe");
  await Deno.writeFile(exe, crypto.getRandomValues(new Uint8Array(1000)));
  const { writeRelease } = await import("../build.ts");
  await writeRelease(exe, PLATFORM, signing);
  const release = JSON.parse(await Deno.readTextFile(`${exe}.release.json`)) as SignedRelease;
  const rootKey = JSON.parse(await Deno.readTextFile(root)).public_key;
  assertEquals(release.manifest.name, "print-agent");
  assertEquals(
    await refuseRelease(
      release,
      { version: "0.0.1", platform: PLATFORM, channel: "stable", now: Date.now() },
      [rootKey],
      await Deno.readFile(exe),
    ),
    null,
  );
});
