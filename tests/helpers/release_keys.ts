/**
 * Release keys for tests: a root, a signing key it certifies for `stable` for a day, and a way to
 * publish a signed release on the reference server.
 * @module
 */
import { certify, newKeyPair, signRelease } from "../../src/site/release.ts";

/** A root key pair, a signing key pair and the root's cert for it (`stable`, one day). */
export async function testKeys() {
  const root = await newKeyPair();
  const signing = await newKeyPair();
  const cert = await certify(
    root.private_key,
    signing.public_key,
    ["stable"],
    new Date(Date.now() + 86_400_000).toISOString(),
  );
  return { root, signing, cert };
}

/** Keys made by {@link testKeys}. */
export type TestKeys = Awaited<ReturnType<typeof testKeys>>;

/** Base64 of bytes of any size. */
export function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return btoa(bin);
}

/** Signs `js` as release `version` of platform `bundle` and publishes it on the server at `api`. */
export async function publishBundle(
  api: string,
  k: TestKeys,
  version: string,
  js: string,
): Promise<void> {
  const file = new TextEncoder().encode(js);
  const release = await signRelease(
    file,
    { version, platform: "bundle", min_from: "0.1.0", channel: "stable" },
    k.signing.private_key,
    k.cert,
  );
  const r = await fetch(`${api}/releases/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ release, file_base64: base64(file) }),
  });
  if (r.status !== 201) throw new Error(`release ${version} not published: ${r.status}`);
  await r.body?.cancel();
}
