/**
 * `deno task build`: bundles `src/main.ts` and the winspool Worker into minified, ASCII-only
 * JavaScript (`dist/agent.js`, `dist/winspool_worker.js`: what the executable holds, and what
 * `deno task bench:cost` measures), then `deno compile`s that into one executable per target, with
 * the permissions baked in, the Worker included, the version checked, and an icon for Windows.
 * Output in `dist/`.
 *
 * ```
 * deno task build                       # dist/agent.exe (Windows x64) and dist/agent (this host)
 * deno task build --target windows      # only one
 * deno task bundle                      # only the bundles (no deno compile)
 * DENORT_BIN=/path/to/denort.exe deno task build --target windows   # offline build
 * DENORT_BIN_WINDOWS=… DENORT_BIN_HOST=… deno task build            # offline, both targets
 * ```
 * `deno compile` downloads its base runtime (`denort`) for the target from dl.deno.land unless
 * `DENORT_BIN_<TARGET>` (or `DENORT_BIN`, for a single `--target`) names a local copy of it. When
 * neither works the build stops and says so.
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { V8_FLAGS, VERSION } from "./src/version.ts";

/** Targets the build knows. */
export const TARGETS = {
  windows: { triple: "x86_64-pc-windows-msvc", output: "agent.exe" },
  host: {
    triple: Deno.build.target,
    output: Deno.build.os === "windows" ? "agent-host.exe" : "agent",
  },
} as const;

/**
 * Permissions the agent needs, and why: ffi (winspool, advapi32), net (job server, printers,
 * local API), read/write (config, state, logs, templates), env (token, ProgramData), sys
 * (hostname, os info for heartbeats), run (sc.exe for `agent service`).
 */
export const PERMISSIONS = [
  "--allow-ffi",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  // sc.exe for `agent service`; the system path, so no sc.exe earlier in PATH can stand in for it
  "--allow-run=C:\\Windows\\System32\\sc.exe",
];

/**
 * The JavaScript the executable is made of. Profiles and templates are imported by the code (JSON
 * and text imports), so they are inside the bundle; the Worker is loaded by URL beside it.
 */
export const BUNDLES = [
  { entry: "src/main.ts", output: "dist/agent.js" },
  { entry: "src/printers/winspool_worker.ts", output: "dist/winspool_worker.js" },
] as const;

/**
 * Files loaded at run time that the compiled binary must carry: the Worker, and the fonts and
 * HarfBuzz that draw scripts no code page has (read only when a line needs them).
 */
export const INCLUDES = ["dist/winspool_worker.js", "dist/fonts"];

/** Where the fonts live in the sources; the bundle finds them in `dist/fonts` beside it. */
const FONTS = "fonts";

/** The `deno bundle` arguments for one bundle (pure: tested without bundling). */
export function bundleArgs(b: (typeof BUNDLES)[number], root: string): string[] {
  return [
    "bundle",
    "--platform",
    "deno",
    // every error class sets its own `name`, so the log's names survive minifying (and
    // --keep-names would cost ~2 MB of heap for the names of every function)
    "--minify",
    "--config",
    join(root, "deno.json"),
    "--output",
    join(root, b.output),
    join(root, b.entry),
  ];
}

/**
 * The bundle's text with every character beyond ASCII written as a `\uXXXX` escape.
 *
 * Why: V8 keeps a script's source as one string for the script's whole life (lazy compilation,
 * `Function.prototype.toString`), and a single character beyond Latin-1 anywhere in it (an em dash
 * in a help text, a code page table) makes that string two bytes per character: the agent's 1 MB
 * bundle would hold 2 MB of heap for ever. esbuild's `charset: "ascii"` escapes strings, template
 * literals and identifiers (it knows where each is); what it leaves is inside regular-expression
 * literals, where a `\uXXXX` escape means the same character (a surrogate pair of escapes is one
 * code point under the `u` and `v` flags, two code units without them, as written).
 */
export async function asciiOnly(js: string): Promise<string> {
  return (await transform(js)).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** esbuild's transform as the bundle needs it: ASCII, minified whitespace, `define`s applied. */
async function transform(js: string, define: Record<string, string> = {}): Promise<string> {
  const esbuild = await import("esbuild");
  try {
    const r = await esbuild.transform(js, {
      charset: "ascii",
      format: "esm",
      target: "esnext",
      minifyWhitespace: true,
      legalComments: "none",
      define,
    });
    return r.code;
  } finally {
    await esbuild.stop();
  }
}

/** What a build stamps into the bundle (see {@link stampBundle}). */
export interface Stamp {
  /** Root public keys releases must chain to, besides those in site/release.ts. */
  roots?: string[];
  /** Another version than src/version.ts's (tests of self-update make a "next" build). */
  version?: string;
}

/**
 * The bundle with build-time values put in place of the globals the sources read for them
 * (`globalThis.PA_BUILD_ROOT_KEYS`, `globalThis.PA_BUILD_VERSION`): in the shipped program they
 * are constants, never read from the process at run time.
 */
export async function stampBundle(js: string, o: Stamp): Promise<string> {
  const define: Record<string, string> = {
    "globalThis.PA_BUILD_ROOT_KEYS": JSON.stringify(o.roots ?? []),
  };
  if (o.version) define["globalThis.PA_BUILD_VERSION"] = JSON.stringify(o.version);
  return await transform(js, define);
}

/**
 * The agent's bundle as `deno bundle` makes it, before {@link stampBundle} (tests of self-update
 * stamp it several ways: versions, a test root). Written to `output`; returns its text.
 */
export async function rawBundle(root: string, output: string): Promise<string> {
  const args = bundleArgs(BUNDLES[0], root);
  args[args.indexOf("--output") + 1] = output;
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "null",
    stderr: "piped",
    cwd: root,
    env: { NO_COLOR: "1" },
  }).output();
  if (!r.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(r.stderr)}`);
  return await Deno.readTextFile(output);
}

/** Writes `dist/agent.js` and `dist/winspool_worker.js`; false (and why, said) on failure. */
export async function bundle(root: string, stamp: Stamp = {}): Promise<boolean> {
  for (const b of BUNDLES) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: bundleArgs(b, root),
      stdout: "piped",
      stderr: "piped",
      cwd: root,
      env: { NO_COLOR: "1" },
    }).output();
    if (!r.success) {
      console.error(
        `[build] deno bundle of ${b.entry} failed:\n${new TextDecoder().decode(r.stderr)}`,
      );
      return false;
    }
    const path = join(root, b.output);
    const js = await asciiOnly(await stampBundle(await Deno.readTextFile(path), stamp));
    await Deno.writeTextFile(path, js);
    console.log(`[build] ${b.output}: ${(js.length / 1024).toFixed(0)} KB of ASCII JavaScript`);
  }
  // the bundle asks for its fonts beside itself, as the source does (render/fonts.ts)
  await Deno.mkdir(join(root, "dist", "fonts"), { recursive: true });
  let bytes = 0;
  for await (const f of Deno.readDir(join(root, FONTS))) {
    if (!f.isFile) continue;
    await Deno.copyFile(join(root, FONTS, f.name), join(root, "dist", "fonts", f.name));
    bytes += (await Deno.stat(join(root, FONTS, f.name))).size;
  }
  console.log(`[build] dist/fonts: ${(bytes / 1024).toFixed(0)} KB (fonts, HarfBuzz, licences)`);
  return true;
}

/** The `deno compile` arguments for a target (pure: tested without compiling). */
export function compileArgs(target: keyof typeof TARGETS, root: string): string[] {
  const t = TARGETS[target];
  const args = [
    "compile",
    "--target",
    t.triple,
    "--output",
    join(root, "dist", t.output),
    "--no-check", // `deno task check` type-checks; compile must not differ from what was tested
    `--v8-flags=${V8_FLAGS}`,
    ...PERMISSIONS,
    ...INCLUDES.flatMap((i) => ["--include", join(root, i)]),
  ];
  if (t.triple.includes("windows")) args.push("--icon", join(root, "assets", "agent.ico"));
  args.push(join(root, BUNDLES[0].output));
  return args;
}

/**
 * The local base runtime for a target, from the environment: `DENORT_BIN_WINDOWS` or
 * `DENORT_BIN_HOST`, else `DENORT_BIN` when only that one target is built. A problem (a file that
 * is not there, one runtime for two targets) is said before anything is compiled.
 */
export function runtimeFor(
  target: keyof typeof TARGETS,
  targets: readonly string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): { path: string | null; problem: string | null } {
  const own = `DENORT_BIN_${target.toUpperCase()}`;
  const path = env(own) ?? env("DENORT_BIN") ?? null;
  if (!env(own) && env("DENORT_BIN") && targets.length > 1) {
    return {
      path: null,
      problem: `DENORT_BIN names one runtime, but ${targets.join(" and ")} are built: a runtime ` +
        `is for one target. Build one with --target ${target}, or set ${own}`,
    };
  }
  if (path) {
    try {
      if (!Deno.statSync(path).isFile) throw new Error("not a file");
    } catch {
      return {
        path,
        problem: `${env(own) ? own : "DENORT_BIN"}=${path}: no such file (the runtime for ` +
          `${TARGETS[target].triple}, unzipped from denort-${
            TARGETS[target].triple
          }.zip of Deno ${Deno.version.deno})`,
      };
    }
  }
  return { path, problem: null };
}

/** What to tell the user when `deno compile` cannot get its base runtime. */
export function runtimeHelp(triple: string, output: string): string | null {
  if (
    !/denort|download|dl\.deno\.land|error sending request|dns error|failed to fetch|connect/i.test(
      output,
    )
  ) {
    return null;
  }
  return `deno compile could not get its base runtime (denort) for ${triple}: it downloads it from ` +
    `dl.deno.land, which is not reachable from here.\n` +
    `  Fix: fetch https://dl.deno.land/release/v${Deno.version.deno}/denort-${triple}.zip on a machine ` +
    `with access, unzip it, and run again with DENORT_BIN=/path/to/denort${
      triple.includes("windows") ? ".exe" : ""
    } (the runtime must match this Deno, ${Deno.version.deno}, and the target).`;
}

/**
 * Writes `<exe>.release.json` (manifest, signature, the signing key's cert: site/release.ts)
 * beside an executable, signed with the key file `keyFile` (`deno task release-key signing`).
 * The channel is `PA_CHANNEL` (default stable); `PA_MIN_FROM` the oldest version that may update
 * to it directly (default 0.0.0).
 */
export async function writeRelease(
  exe: string,
  platform: string,
  keyFile: string,
  version: string = VERSION,
): Promise<void> {
  const { signRelease } = await import("./src/site/release.ts");
  const key = JSON.parse(await Deno.readTextFile(keyFile));
  const release = await signRelease(
    await Deno.readFile(exe),
    {
      version,
      platform,
      min_from: Deno.env.get("PA_MIN_FROM") ?? "0.0.0",
      channel: Deno.env.get("PA_CHANNEL") ?? "stable",
    },
    key.private_key,
    key.cert,
  );
  await Deno.writeTextFile(`${exe}.release.json`, JSON.stringify(release, null, 2) + "\n");
  console.log(`[build] ${exe}.release.json: signed ${release.manifest.sha256.slice(0, 16)}…`);
}

async function checkVersion(root: string) {
  const cfg = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  if (cfg.version !== VERSION) {
    throw new Error(
      `version mismatch: deno.json says ${cfg.version}, src/version.ts says ${VERSION}`,
    );
  }
}

async function build(
  target: keyof typeof TARGETS,
  root: string,
  targets: readonly string[],
): Promise<boolean> {
  const args = compileArgs(target, root);
  const t = TARGETS[target];
  const runtime = runtimeFor(target, targets);
  if (runtime.problem) {
    console.error(`[build] ${runtime.problem}`);
    return false;
  }
  console.log(
    `[build] ${t.output} for ${t.triple}${runtime.path ? ` (base runtime ${runtime.path})` : ""}`,
  );
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (runtime.path) env.DENORT_BIN = runtime.path;
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    stdout: "piped",
    stderr: "piped",
    cwd: root,
    env,
    clearEnv: false,
  }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (r.success) {
    const size = (await Deno.stat(join(root, "dist", t.output))).size;
    console.log(
      `[build] dist/${t.output}: ${(size / 1048576).toFixed(1)} MB, version ${
        Deno.env.get("PA_TEST_AS_VERSION") || VERSION
      }`,
    );
    const key = Deno.env.get("PA_SIGNING_KEY");
    const as = Deno.env.get("PA_TEST_AS_VERSION") || VERSION;
    if (key) await writeRelease(join(root, "dist", t.output), t.triple, key, as);
    return true;
  }
  const help = runtime.path ? null : runtimeHelp(t.triple, out);
  console.error(
    help
      ? `[build] ${help}\n  deno compile said: ${
        out.trim().split("\n").filter((l) => /error/i.test(l)).join(" | ")
      }`
      : `[build] deno compile failed:\n${out}`,
  );
  return false;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string" }, "bundle-only": { type: "boolean", default: false } },
  });
  const root = dirname(fileURLToPath(import.meta.url));
  await checkVersion(root);
  // PA_ROOT_KEYS: the project's root public keys (comma-separated) for a release build
  const roots = (Deno.env.get("PA_ROOT_KEYS") ?? "").split(",").map((k) => k.trim()).filter(
    Boolean,
  );
  // tests of self-update only (tests/windows/hosted.ts): build as another version, and put a
  // script before the bundle (a build that breaks after it starts)
  const asVersion = Deno.env.get("PA_TEST_AS_VERSION") || undefined;
  if (!await bundle(root, { roots, version: asVersion })) Deno.exit(1);
  const prepend = Deno.env.get("PA_TEST_PREPEND");
  if (prepend) {
    const out = join(root, "dist", "agent.js");
    await Deno.writeTextFile(
      out,
      (await Deno.readTextFile(prepend)) + (await Deno.readTextFile(out)),
    );
  }
  // the bundle is a release too, for agents run as `deno run dist/agent.js` (platform "bundle")
  const signingKey = Deno.env.get("PA_SIGNING_KEY");
  if (signingKey) {
    await writeRelease(join(root, "dist", "agent.js"), "bundle", signingKey, asVersion);
  }
  if (values["bundle-only"]) Deno.exit(0);
  const targets = values.target ? [values.target] : ["windows", "host"];
  let ok = true;
  for (const t of targets) {
    if (!(t in TARGETS)) {
      console.error(`[build] unknown --target ${t}: use one of ${Object.keys(TARGETS).join(", ")}`);
      Deno.exit(2);
    }
    ok = await build(t as keyof typeof TARGETS, root, targets) && ok;
  }
  Deno.exit(ok ? 0 : 1);
}
