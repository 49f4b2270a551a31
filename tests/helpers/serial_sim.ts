/**
 * Runs tests/helpers/serial_printer_sim.py: a serial ESC/POS printer on a pseudo-terminal (the
 * real Linux tty layer, and what Wine maps a COM port to), answering `DLE EOT` as
 * tests/helpers/printer_states.ts says.
 */
import { EXPECTED_STATUS, type PrinterState, prints, statusAnswer } from "./printer_states.ts";
import { fileURLToPath } from "node:url";

const STATES = Object.keys(EXPECTED_STATUS) as PrinterState[];

/** A running serial printer simulator. */
export class SerialSim {
  readonly path: string;
  #child: Deno.ChildProcess;
  #lines: ReadableStreamDefaultReader<string>;
  #w: WritableStreamDefaultWriter<Uint8Array>;

  private constructor(
    path: string,
    child: Deno.ChildProcess,
    lines: ReadableStreamDefaultReader<string>,
  ) {
    this.path = path;
    this.#child = child;
    this.#lines = lines;
    this.#w = child.stdin.getWriter();
  }

  /** Whether python3 is here (CI installs it; the tests say so when it is not). */
  static async available(): Promise<boolean> {
    return await new Deno.Command("python3", { args: ["-c", "import pty"], stderr: "null" })
      .output().then((r) => r.success, () => false);
  }

  /** Starts one; `path` is its /dev/pts/N. */
  static async start(): Promise<SerialSim> {
    const table = Object.fromEntries(
      STATES.map((s) => [s, Object.fromEntries([1, 2, 3, 4].map((n) => [n, statusAnswer(s, n)]))]),
    );
    const child = new Deno.Command("python3", {
      args: [
        fileURLToPath(new URL("./serial_printer_sim.py", import.meta.url)),
        JSON.stringify(table),
        JSON.stringify(STATES.filter(prints)),
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      .getReader();
    const first = await lines.read();
    const { path } = JSON.parse(first.value ?? "{}");
    if (!path) throw new Error("the serial printer simulator did not start");
    return new SerialSim(path, child, lines);
  }

  async #send(cmd: string) {
    await this.#w.write(new TextEncoder().encode(cmd + "\n"));
  }

  /** Puts the printer in `state`. */
  async mode(state: PrinterState): Promise<void> {
    await this.#send(`mode ${state}`);
  }

  /** The printer stops answering status requests. */
  async silent(): Promise<void> {
    await this.#send("silent");
  }

  /** What it printed so far, what it dropped (not printing), and the status questions. */
  async dump(): Promise<{ printed: Uint8Array; dropped: number; queries: number }> {
    await this.#send("dump");
    const { value } = await this.#lines.read();
    const d = JSON.parse(value ?? "{}");
    const hex: string = d.printed ?? "";
    const printed = new Uint8Array(hex.length / 2).map((_, i) =>
      parseInt(hex.slice(i * 2, i * 2 + 2), 16)
    );
    return { printed, dropped: d.dropped, queries: d.queries };
  }

  /** Stops it. */
  async stop(): Promise<void> {
    await this.#send("quit").catch(() => {});
    await this.#w.close().catch(() => {});
    await this.#lines.cancel().catch(() => {});
    await this.#child.status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, c) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p) c.enqueue(p);
    },
  });
}
