/**
 * `deno task release-key`: the keys that sign releases (site/release.ts).
 *
 * ```
 * deno task release-key root    --out root.json                 # offline; its public key goes
 *                                                              # into ROOT_KEYS in release.ts
 * deno task release-key signing --root root.json --out signing.json [--channels stable,beta]
 *                               [--days 365]                    # for the build machine
 * ```
 * `deno task build` with `PA_SIGNING_KEY=signing.json` writes `<exe>.release.json` (manifest,
 * signature, the signing key's cert) beside each executable it compiles.
 * @module
 */
import { parseArgs } from "node:util";
import { certify, newKeyPair } from "./release.ts";

/** Runs the command; returns the exit code. */
export async function releaseKey(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      root: { type: "string" },
      channels: { type: "string", default: "stable" },
      days: { type: "string", default: "365" },
    },
  });
  const kind = positionals[0];
  if ((kind !== "root" && kind !== "signing") || !values.out) {
    console.error(
      "usage: deno task release-key root --out FILE | signing --root ROOT_FILE --out FILE " +
        "[--channels stable,beta] [--days 365]",
    );
    return 2;
  }
  const pair = await newKeyPair();
  if (kind === "root") {
    await Deno.writeTextFile(values.out, JSON.stringify(pair, null, 2) + "\n", { mode: 0o600 });
    console.log(
      `root key written to ${values.out}: keep it offline. Its public key, for ROOT_KEYS in ` +
        `src/site/release.ts:\n${pair.public_key}`,
    );
    return 0;
  }
  if (!values.root) {
    console.error("release-key signing: --root ROOT_FILE (the root key that certifies it)");
    return 2;
  }
  const root = JSON.parse(await Deno.readTextFile(values.root)) as { private_key: string };
  const days = Number(values.days);
  if (!(days > 0)) {
    console.error(`release-key: --days must be a positive number, not ${values.days}`);
    return 2;
  }
  const notAfter = new Date(Date.now() + days * 86_400_000).toISOString();
  const channels = values.channels!.split(",").map((c) => c.trim()).filter(Boolean);
  const cert = await certify(root.private_key, pair.public_key, channels, notAfter);
  await Deno.writeTextFile(values.out, JSON.stringify({ ...pair, cert }, null, 2) + "\n", {
    mode: 0o600,
  });
  console.log(
    `signing key written to ${values.out}, certified for ${channels.join(", ")} until ${notAfter}`,
  );
  return 0;
}

if (import.meta.main) Deno.exit(await releaseKey(Deno.args));
