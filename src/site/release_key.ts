/**
 * `deno task release-key`: the keys that sign releases (site/release.ts).
 *
 * ```
 * deno task release-key root    --out root.json                 # offline; its public key goes
 *                                                              # into ROOT_KEYS in release.ts
 * deno task release-key signing --root root.json --out signing.json [--channels stable,beta]
 *                               [--days 365]                    # for the build machine
 * deno task release-key config-key --out fleet.json              # its public key goes into each
 *                                                              # terminal's update.config_keys
 * deno task release-key sign-config --key fleet.json --file offer.json   # {revision, body}:
 *                                                              # prints it with its signature
 * ```
 * `deno task build` with `PA_SIGNING_KEY=signing.json` writes `<exe>.release.json` (manifest,
 * signature, the signing key's cert) beside each executable it compiles.
 * @module
 */
import { parseArgs } from "node:util";
import { certify, newKeyPair, signValue } from "./release.ts";

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
      key: { type: "string" },
      file: { type: "string" },
    },
  });
  const kind = positionals[0];
  if (kind === "sign-config") {
    if (!values.key || !values.file) {
      console.error("usage: deno task release-key sign-config --key KEY_FILE --file OFFER_FILE");
      return 2;
    }
    const key = JSON.parse(await Deno.readTextFile(values.key)) as { private_key: string };
    const offer = JSON.parse(await Deno.readTextFile(values.file)) as Record<string, unknown>;
    if (offer.revision === undefined || !offer.body || typeof offer.body !== "object") {
      console.error(`${values.file}: {"revision": …, "body": {…}} is needed`);
      return 2;
    }
    const signature = await signValue(key.private_key, {
      revision: offer.revision,
      body: offer.body,
    });
    console.log(JSON.stringify({ revision: offer.revision, body: offer.body, signature }, null, 2));
    return 0;
  }
  if (kind === "config-key" && values.out) {
    const pair = await newKeyPair();
    await Deno.writeTextFile(values.out, JSON.stringify(pair, null, 2) + "\n", { mode: 0o600 });
    console.log(
      `config-signing key written to ${values.out}: keep it with whoever may change what a ` +
        `server alone may not. Its public key, for update.config_keys:\n${pair.public_key}`,
    );
    return 0;
  }
  if ((kind !== "root" && kind !== "signing") || !values.out) {
    console.error(
      "usage: deno task release-key root --out FILE | signing --root ROOT_FILE --out FILE " +
        "[--channels stable,beta] [--days 365] | config-key --out FILE | " +
        "sign-config --key KEY_FILE --file OFFER_FILE",
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
