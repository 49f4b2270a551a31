/**
 * A minimal Chrome DevTools Protocol client for Debian's headless Chromium (no browser download,
 * no driver): launch, navigate, evaluate, screenshot.
 */

/** A running headless Chromium with one page. */
export class Browser {
  #proc: Deno.ChildProcess;
  #ws: WebSocket;
  #seq = 0;
  #pending = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  #events: { method: string; params: unknown }[] = [];
  #dir: string;

  private constructor(proc: Deno.ChildProcess, ws: WebSocket, dir: string) {
    this.#proc = proc;
    this.#ws = ws;
    this.#dir = dir;
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.id && this.#pending.has(msg.id)) {
        const p = this.#pending.get(msg.id)!;
        this.#pending.delete(msg.id);
        if (msg.error) p.rej(new Error(JSON.stringify(msg.error)));
        else p.res(msg.result);
      } else if (msg.method) this.#events.push(msg);
    };
  }

  /** Launches Chromium headless with the flags this closed network needs. */
  static async launch(bin = "/usr/bin/chromium"): Promise<Browser> {
    const dir = await Deno.makeTempDir({ prefix: "pa-chromium-" });
    const proc = new Deno.Command(bin, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=420,900",
        `--user-data-dir=${dir}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let port = 0;
    const until = Date.now() + 20_000;
    while (!port && Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      port = Number(buf.match(/DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//)?.[1] ?? 0);
    }
    reader.releaseLock();
    proc.stderr.cancel().catch(() => {});
    if (!port) throw new Error(`chromium did not start: ${buf.slice(0, 500)}`);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const page = targets.find((t: { type: string }) => t.type === "page");
    const ws = new WebSocket(page.webSocketDebuggerUrl);
    await new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = rej;
    });
    const b = new Browser(proc, ws, dir);
    await b.send("Page.enable");
    await b.send("Runtime.enable");
    return b;
  }

  /** Sends one CDP command. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<T> {
    const id = ++this.#seq;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((res, rej) =>
      this.#pending.set(id, { res: res as (v: unknown) => void, rej })
    );
  }

  /** Navigates and waits for the load event. */
  async goto(url: string): Promise<void> {
    this.#events = [];
    await this.send("Page.navigate", { url });
    const until = Date.now() + 15_000;
    while (!this.#events.some((e) => e.method === "Page.loadEventFired")) {
      if (Date.now() > until) throw new Error(`page ${url} did not load`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Evaluates an expression in the page and returns its value. */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value: T }; exceptionDetails?: unknown }>(
      "Runtime.evaluate",
      {
        expression,
        awaitPromise: true,
        returnByValue: true,
      },
    );
    if (r.exceptionDetails) {
      throw new Error(`page script failed: ${JSON.stringify(r.exceptionDetails)}`);
    }
    return r.result.value;
  }

  /** Sets the viewport (CSS pixels), as a phone or a desktop screen would be. */
  async viewport(width: number, height: number): Promise<void> {
    await this.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: width < 600,
    });
  }

  /** A PNG screenshot of the page. */
  async screenshot(): Promise<Uint8Array> {
    const r = await this.send<{ data: string }>("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
    });
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#ws.close();
    } catch { /* closed */ }
    try {
      this.#proc.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#proc.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
