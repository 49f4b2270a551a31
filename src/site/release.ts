/**
 * Signed releases (#24, the release half of self-update): what `deno task build` writes beside
 * `agent.exe` and what an agent checks before it would ever run a downloaded binary.
 *
 * Two levels of Ed25519 keys, as large fleets do: **root keys** are built into the agent (their
 * private halves stay offline); a **signing key** is certified by a root (`cert`: its public key,
 * the channel it may sign for and until when, signed by the root), so a signing key can be
 * rotated or revoked by expiry without a new binary. The signature covers the whole manifest —
 * name, version, platform, channel, size and sha256 of the file — so neither an older version
 * (downgrade), another platform's file, nor a file other than the one signed can be slipped in.
 * Verification uses Deno's built-in WebCrypto (`Ed25519`): no dependency.
 * @module
 */

/** What a release is: the file it names, and what it claims to be. */
export interface ReleaseManifest {
  /** Always "print-agent". */
  name: string;
  /** Semantic version, e.g. "0.2.0". */
  version: string;
  /** Deno's target triple, e.g. "x86_64-pc-windows-msvc". */
  platform: string;
  /** Hex SHA-256 of the file. */
  sha256: string;
  /** Bytes of the file. */
  size: number;
  /** The oldest version that may update to this one directly. */
  min_from: string;
  /** "stable", "beta", … */
  channel: string;
}

/** A signing key, certified by a root key. */
export interface SigningCert {
  /** The signing key's raw Ed25519 public key, base64. */
  public_key: string;
  /** Channels it may sign for. */
  channels: string[];
  /** ISO date after which its signatures are refused. */
  not_after: string;
  /** The root's signature over the fields above (canonical JSON), base64. */
  signature: string;
}

/** Everything a release carries besides the file: manifest, signature, the signer's cert. */
export interface SignedRelease {
  /** The manifest. */
  manifest: ReleaseManifest;
  /** The signing key's signature over the canonical manifest, base64. */
  signature: string;
  /** The signing key's certificate. */
  cert: SigningCert;
}

/**
 * The root public keys built into this agent (raw Ed25519, base64). None in the sources: no
 * release is trusted until the project's root key is made offline (`deno task release-key root`)
 * and its public half is put here or given to the build — an agent never trusts a key it is
 * told about at run time.
 */
export const ROOT_KEYS: readonly string[] = [
  // a build may add roots (`PA_ROOT_KEYS=… deno task build`): build.ts writes them into the
  // bundle as a constant in place of this global, which nothing sets at run time
  ...((globalThis as { PA_BUILD_ROOT_KEYS?: string[] }).PA_BUILD_ROOT_KEYS ?? []),
];

/** JSON with keys sorted at every level: the bytes a signature covers. */
export function canonical(v: unknown): Uint8Array {
  const sort = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sort) : x && typeof x === "object"
      ? Object.fromEntries(
        Object.keys(x as Record<string, unknown>).sort().map((
          k,
        ) => [k, sort((x as Record<string, unknown>)[k])]),
      )
      : x;
  return new TextEncoder().encode(JSON.stringify(sort(v)));
}

const b64 = (u: Uint8Array) => btoa(String.fromCharCode(...u));
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

/** Hex SHA-256 of bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new Ed25519 key pair: the raw public key and the PKCS#8 private key, base64. */
export async function newKeyPair(): Promise<{ public_key: string; private_key: string }> {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return {
    public_key: b64(new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey))),
    private_key: b64(new Uint8Array(await crypto.subtle.exportKey("pkcs8", kp.privateKey))),
  };
}

/** Signs a value's canonical JSON with a PKCS#8 Ed25519 key (base64); the signature, base64. */
export async function signValue(privateKey: string, v: unknown): Promise<string> {
  return await sign(privateKey, v);
}

/** Whether `signature` is any of `publicKeys`' over the value's canonical JSON. */
export async function signedByAny(
  publicKeys: readonly string[],
  signature: string,
  v: unknown,
): Promise<boolean> {
  for (const k of publicKeys) if (await verify(k, signature, v)) return true;
  return false;
}

async function sign(privateKey: string, v: unknown): Promise<string> {
  const key = await crypto.subtle.importKey(
    "pkcs8",
    unb64(privateKey) as BufferSource,
    "Ed25519",
    false,
    [
      "sign",
    ],
  );
  return b64(
    new Uint8Array(await crypto.subtle.sign("Ed25519", key, canonical(v) as BufferSource)),
  );
}

async function verify(publicKey: string, signature: string, v: unknown): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      unb64(publicKey) as BufferSource,
      "Ed25519",
      false,
      [
        "verify",
      ],
    );
    return await crypto.subtle.verify(
      "Ed25519",
      key,
      unb64(signature) as BufferSource,
      canonical(v) as BufferSource,
    );
  } catch {
    return false; // not base64, not a key of the right size: not a valid signature
  }
}

/** A root certifies a signing key for some channels until a date. */
export async function certify(
  rootPrivate: string,
  signingPublic: string,
  channels: string[],
  notAfter: string,
): Promise<SigningCert> {
  const body = { public_key: signingPublic, channels, not_after: notAfter };
  return { ...body, signature: await sign(rootPrivate, body) };
}

/** The manifest of a file, signed by a signing key (with its cert). */
export async function signRelease(
  file: Uint8Array,
  o: Omit<ReleaseManifest, "sha256" | "size" | "name">,
  signingPrivate: string,
  cert: SigningCert,
): Promise<SignedRelease> {
  const manifest: ReleaseManifest = {
    name: "print-agent",
    ...o,
    sha256: await sha256Hex(file),
    size: file.length,
  };
  return { manifest, signature: await sign(signingPrivate, manifest), cert };
}

/** Compares dotted versions numerically (1.10.0 > 1.9.3); a pre-release tag sorts before. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.split("-", 2);
    return { nums: core.split(".").map((n) => Number.parseInt(n, 10) || 0), pre: pre ?? null };
  };
  const x = parse(a), y = parse(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === null) return 1;
  if (y.pre === null) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** What this agent is: its version and platform, and the channel it follows. */
export interface Running {
  /** This agent's version. */
  version: string;
  /** Deno's target triple of this binary. */
  platform: string;
  /** The channel this terminal follows. */
  channel: string;
  /** Now (ms), for the cert's expiry. */
  now: number;
}

/**
 * Why a release must not run here (null: it may): the cert is a root's, for this channel and
 * unexpired; the manifest is the signing key's; it is this agent, this platform, a newer version
 * reachable from this one; and `file` (when given) is the very file it names, whole.
 */
export async function refuseRelease(
  r: SignedRelease,
  running: Running,
  roots: readonly string[] = ROOT_KEYS,
  file?: Uint8Array,
): Promise<string | null> {
  const { manifest: m, cert } = r;
  if (!roots.length) return "no root key is built into this agent: no release is trusted";
  const certBody = {
    public_key: cert.public_key,
    channels: cert.channels,
    not_after: cert.not_after,
  };
  let rooted = false;
  for (const root of roots) {
    if (await verify(root, cert.signature, certBody)) {
      rooted = true;
      break;
    }
  }
  if (!rooted) return "the signing key is not certified by a root key built into this agent";
  const until = Date.parse(cert.not_after);
  if (!Number.isFinite(until) || running.now > until) {
    return `the signing key expired on ${cert.not_after}`;
  }
  if (!(await verify(cert.public_key, r.signature, m))) {
    return "the manifest's signature does not verify (changed after signing, or another key)";
  }
  if (!cert.channels.includes(m.channel)) {
    return `the signing key may not sign for channel ${m.channel}`;
  }
  if (m.name !== "print-agent") return `the release is "${m.name}", not print-agent`;
  if (m.channel !== running.channel) {
    return `the release is for channel ${m.channel}; this terminal follows ${running.channel}`;
  }
  if (m.platform !== running.platform) {
    return `the release is for ${m.platform}; this is ${running.platform}`;
  }
  if (compareVersions(m.version, running.version) <= 0) {
    return `the release (${m.version}) is not newer than this agent (${running.version})`;
  }
  if (compareVersions(running.version, m.min_from) < 0) {
    return `${m.version} updates only from ${m.min_from} on; this is ${running.version}`;
  }
  if (file) {
    if (file.length !== m.size) {
      return `the file is ${file.length} bytes; the release names ${m.size} (truncated?)`;
    }
    if (await sha256Hex(file) !== m.sha256) return "the file is not the one the release names";
  }
  return null;
}
