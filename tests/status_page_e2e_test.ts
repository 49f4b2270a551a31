/**
 * The status page in headless Chromium (Debian's package; `.ci/run` installs it) against a
 * running agent with two printers: it updates by itself (a job printed while it is open appears
 * within 2 s), shows each error's code and message, offers Reprint for printed jobs and "Print
 * again" for failed ones (none where the job's content is the problem), keeps the agent's health
 * apart from a failed job, shows times in the store's locale, filters by bill number, shows a card
 * per printer and, with the token, the log's tail; a job's preview is the paper drawn from the
 * printer's bytes, and ZXing reads its QR off a screenshot as a phone would. The screenshot goes
 * to tests/out/.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { stationsConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { Browser } from "./helpers/cdp.ts";
import { scanLuminance } from "./helpers/scan.ts";
import { decode as decodePng } from "fast-png";
import { localApiUrl, startAgent, stopAgent } from "../src/run.ts";

const CHROMIUM = "/usr/bin/chromium";
/** A QRIS-like payload: the QR the status page must show as a code a phone can scan. */
const QR = "00020101021126570011ID.DANA.WWW0118936009153022591481020902259148103";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);

Deno.test({
  name:
    "the status page is live: new jobs within 2 s, errors with messages, actions by state, locale times, filter, printer cards, log tail",
  ignore: !hasChromium, // CI installs chromium; elsewhere: apt-get install chromium
  async fn() {
    await using dir = await withTmpDir();
    await using server = withServer();
    using sim = PrinterSim.start();
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (dead.addr as Deno.NetAddr).port;
    dead.close();
    const tcp = { transport: "tcp", brand: "EPSON", paper_width: 42 };
    const config = stationsConfig(dir.path, [
      { id: "cashier", roles: ["cashier"], ...tcp, port: sim.port },
      { id: "kitchen", roles: ["kitchen"], ...tcp, port: deadPort, timeout: 1 },
    ], {
      server: { base_url: server.url },
      error_handling: { max_retry: 1, backoff_seconds: [0.1] },
      render: { locale: "id-ID", time_zone: "Asia/Jakarta" },
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: true, port: 0, token: "page-token" },
    });
    // remote configuration's state as the supervisor would give it (site/supervisor.ts)
    const cfgState = {
      running_revision: 7 as string | number | null,
      pending_revision: 9 as string | number | null,
      state: "reverted" as const,
      error: "role kitchen has no printer that prints (kitchen OFFLINE)",
    };
    const agent = await startAgent(config, {
      console: false,
      remote: {
        report: () => cfgState,
        onReply: () => {},
        // self-update's state as the updater would give it (site/updater.ts)
        updateReport: () => ({
          state: "rolled_back" as const,
          target: "0.3.0",
          error: "crash loop: 2 starts of 0.3.0 ended before a heartbeat reached the server",
        }),
      },
    });
    const final = async (id: unknown) => {
      await waitFor(
        async () => ["COMPLETED", "FAILED"].includes(String((await server.getJob(id)).status)),
        `job ${id} final`,
      );
    };
    try {
      const url = localApiUrl(agent)!;
      const printed = await server.createJob({
        job_type: "receipt",
        receipt_data: {
          store_name: "Toko Browser",
          bill_number: "INV-B-1",
          total: 75000,
          qr: QR,
        },
      });
      const bad = await server.createJob({
        job_type: "receipt",
        receipt_data: { bill_number: "INV-BAD", items: [{ name: null }] },
      });
      const kitchen = await server.createJob({
        job_type: "kitchen",
        printer_role: "kitchen",
        receipt_data: { bill_number: "INV-K-1", table: "4", items: [{ name: "Nasi", qty: 1 }] },
      });
      for (const j of [printed, bad, kitchen]) await final(j.id);
      await using browser = await Browser.launch(CHROMIUM);
      await browser.goto(url);
      const text = () => browser.eval<string>("document.body.innerText");
      await waitFor(async () => /INV-K-1/.test(await text()), "the jobs drawn");
      const page = await text();
      assertMatch(page, /Print Agent — POS-001/);
      assertMatch(page, /Agent: running/, "a failed job does not make the agent look broken");
      // what became of the server's configuration, and what runs instead
      assertMatch(
        page,
        /Config: revision 9 reverted \(role kitchen has no printer that prints \(kitchen OFFLINE\)\); running revision 7/,
      );
      assertMatch(
        page,
        /Update to 0\.3\.0 rolled back \(crash loop: 2 starts of 0\.3\.0 ended before a heartbeat/,
      );
      // what the heartbeat said of them is a journal entry (one per change, not per beat)
      const fleet = (agent.journal as unknown as {
        fleetEvents(): { body: { update?: { state: string }; config?: { state: string } } }[];
      }).fleetEvents();
      assertEquals(fleet.length, 1, "one change, however many heartbeats");
      assertEquals(fleet[0].body.update?.state, "rolled_back");
      assertEquals(fleet[0].body.config?.state, "reverted");
      // the page and /health say the same thing: ERROR, because the kitchen printer failed
      const healthy = await (await fetch(new URL("/health", url))).json();
      assertEquals(healthy.agent_status, "ERROR");
      assertMatch(page, /ERROR: the last job of a printer failed, see its card/);
      assertMatch(page, /BAD_PAYLOAD\s+receipt_data\.items\.0\.name/, "code and message");
      assertMatch(page, /\d{1,2} [A-Z][a-z]{2} \d{4}/, "dates in id-ID");
      assert(!/\b(AM|PM)\b/.test(page), "no US times");
      const cards = await browser.eval<string[]>(
        "[...document.querySelectorAll('.printer')].map((c) => c.dataset.printer)",
      );
      assertEquals(cards, ["cashier", "kitchen"]);
      const buttons = await browser.eval<Record<string, string>>(
        `Object.fromEntries([...document.querySelectorAll('#jobs tr')].map((tr) =>
          [tr.children[1].textContent, tr.children[8].textContent]))`,
      );
      assertEquals(buttons["INV-B-1"], "Reprint");
      assertEquals(buttons["INV-K-1"], "Print again");
      assertEquals(buttons["INV-BAD"], "", "printing again cannot mend bad content");
      // the preview of the printed receipt: the paper drawn from the printer's bytes, full size
      await browser.eval(
        `document.querySelector('tr[data-uuid="${printed.uuid}"] button[data-paper]').click()`,
      );
      await waitFor(
        () =>
          browser.eval<boolean>(
            "document.getElementById('paper').open && document.getElementById('paper-img').naturalWidth > 0",
          ),
        "the preview",
      );
      const asText = await browser.eval<string>(
        "fetch(document.getElementById('paper-text').href).then((r) => r.text())",
      );
      assertMatch(asText, /TOTAL +Rp 75\.000/);
      // a phone scans the QR off the screen: the page as shown, read by ZXing
      await browser.send("Emulation.setDeviceMetricsOverride", {
        width: 720,
        height: 2000,
        deviceScaleFactor: 1,
        mobile: false,
      });
      const shotPng = await browser.screenshot();
      await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
      await Deno.writeFile(new URL("./out/status-page-preview.png", import.meta.url), shotPng);
      const shot = decodePng(shotPng);
      // framed as a phone frames it: the receipt picture on the screen
      const box = await browser.eval<{ x: number; y: number; width: number; height: number }>(
        "JSON.parse(JSON.stringify(document.getElementById('paper-img').getBoundingClientRect()))",
      );
      const [x0, y0] = [Math.round(box.x), Math.round(box.y)];
      const [w, h] = [Math.round(box.width), Math.round(box.height)];
      const lum = new Uint8ClampedArray(w * h);
      const ch = shot.channels;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = ((y + y0) * shot.width + x + x0) * ch;
          lum[y * w + x] = (shot.data[i] + shot.data[i + 1] + shot.data[i + 2]) / 3;
        }
      }
      assertEquals(scanLuminance(lum, w, h), { kind: "qr", text: QR });
      await browser.send("Emulation.clearDeviceMetricsOverride");
      await browser.eval("document.getElementById('paper').close()");
      // live: a job printed while the page is open appears within 2 s, without a reload
      const live = await server.createJob({
        job_type: "receipt",
        receipt_data: { store_name: "Toko", bill_number: "INV-LIVE", total: 1000 },
      });
      await final(live.id);
      const t0 = Date.now();
      await waitFor(async () => /INV-LIVE/.test(await text()), "the new job on the page", 2500);
      console.log(`  appeared ${Date.now() - t0} ms after COMPLETED`);
      // the filter
      await browser.eval(
        "const f = document.getElementById('f-bill'); f.value = 'live'; f.dispatchEvent(new Event('input'))",
      );
      const rows = await browser.eval<number>("document.querySelectorAll('#jobs tr').length");
      assertEquals(rows, 1);
      // the log needs the token
      await browser.eval("document.getElementById('show-log').click()");
      await waitFor(
        () =>
          browser.eval<string>("document.getElementById('log').textContent").then((t) =>
            /Refused/.test(t)
          ),
        "log refused without the token",
      );
      await browser.eval(
        "document.getElementById('token').value = 'page-token'; document.getElementById('show-log').click()",
      );
      await waitFor(
        () =>
          browser.eval<string>("document.getElementById('log').textContent").then((t) =>
            /Print Agent .* starting/.test(t)
          ),
        "the log's tail",
      );
      // Print again on the failed kitchen ticket: a new job
      const before = (await agent.journal.recent(100)).length;
      await browser.eval(
        "document.getElementById('f-bill').value = ''; document.getElementById('f-bill').dispatchEvent(new Event('input'))",
      );
      await browser.eval(
        `document.querySelector('tr[data-uuid="${kitchen.uuid}"] button[data-act]').click()`,
      );
      await waitFor(() => agent.journal.recent(100).length === before + 1, "printed again");
      // the test page button with the token
      await browser.eval("document.getElementById('test-page').click()");
      await sim.waitForJobs(3, 10_000);
      const png = await browser.screenshot();
      assertEquals([...png.slice(1, 4)], [0x50, 0x4e, 0x47]);
      await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
      await Deno.writeFile(new URL("./out/status-page.png", import.meta.url), png);
      assert(png.length > 5000);
      // on a phone (390 px, how a manager checks the kitchen printer) and a desktop: no sideways
      // scrolling, every control on screen, the preview dialog within the screen
      for (const [w, h] of [[390, 844], [1280, 900]]) {
        await browser.viewport(w, h);
        await new Promise((r) => setTimeout(r, 300));
        const fit = await browser.eval<{ scroll: number; inner: number; off: string[] }>(`(() => {
          const inner = window.innerWidth;
          const off = [...document.querySelectorAll("button, input, select")]
            .filter((e) => e.offsetParent !== null && !e.closest("dialog"))
            .filter((e) => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > inner + 1; })
            .map((e) => e.outerHTML.slice(0, 80));
          return { scroll: document.documentElement.scrollWidth, inner, off };
        })()`);
        assert(fit.scroll <= fit.inner, `${w} px: the page is ${fit.scroll} px wide`);
        assertEquals(fit.off, [], `${w} px: every control reachable`);
        assert(
          await browser.eval<number>(
            "document.querySelectorAll('#jobs button[data-paper]').length",
          ) >
            0,
        );
        await browser.eval("document.querySelector('#jobs button[data-paper]').click()");
        await new Promise((r) => setTimeout(r, 300));
        const dialog = await browser.eval<{ left: number; right: number }>(
          "(() => { const r = document.getElementById('paper').getBoundingClientRect(); return { left: r.left, right: r.right }; })()",
        );
        assert(
          dialog.left >= 0 && dialog.right <= w,
          `${w} px: the preview ${JSON.stringify(dialog)}`,
        );
        await browser.eval("document.getElementById('paper').close()");
        await Deno.writeFile(
          new URL(`./out/status-page-${w}.png`, import.meta.url),
          await browser.screenshot(),
        );
      }
    } finally {
      await stopAgent(agent);
    }
  },
});

Deno.test({
  name:
    "the status page shows each printer's real status as the printer tells it: near end a warning, paper out and an open cover faults, with since when",
  ignore: !hasChromium,
  async fn() {
    await using dir = await withTmpDir();
    await using server = withServer();
    using cashier = PrinterSim.start();
    using kitchen = PrinterSim.start();
    using bar = PrinterSim.start();
    cashier.mode = "paper_near_end";
    kitchen.mode = "paper_out";
    bar.mode = "cover_open";
    const tcp = { transport: "tcp", brand: "EPSON", paper_width: 42, status_interval: 0.5 };
    const config = stationsConfig(dir.path, [
      { id: "cashier", roles: ["cashier"], ...tcp, port: cashier.port },
      { id: "kitchen", roles: ["kitchen"], ...tcp, port: kitchen.port },
      { id: "bar", roles: ["bar"], ...tcp, port: bar.port },
    ], {
      server: { base_url: server.url },
      render: { locale: "id-ID", time_zone: "Asia/Jakarta" },
      local_api: { enabled: true, port: 0, token: "page-token" },
    });
    const agent = await startAgent(config, { console: false });
    try {
      await using browser = await Browser.launch(CHROMIUM);
      await browser.goto(localApiUrl(agent)!);
      const card = (id: string) =>
        browser.eval<{ text: string; cls: string }>(`(() => {
          const c = document.querySelector('.printer[data-printer="${id}"]');
          return c ? { text: c.innerText, cls: c.querySelector("b + b, b.ok, b.bad, b.warn")?.className ?? "" } : { text: "", cls: "" };
        })()`);
      const want: [string, RegExp, string][] = [
        ["cashier", /PAPER NEAR END[\s\S]*still prints[\s\S]*since/, "warn"],
        ["kitchen", /PAPER OUT[\s\S]*paper out[\s\S]*since/, "bad"],
        ["bar", /COVER OPEN[\s\S]*cover open[\s\S]*since/, "bad"],
      ];
      for (const [id, re, cls] of want) {
        const c = await waitFor(async () => {
          const c = await card(id);
          return re.test(c.text) ? c : null;
        }, `${id} card`);
        assertEquals(c.cls, cls, `${id}: ${c.text}`);
      }
      // paper loaded: the card turns OK by itself
      kitchen.mode = "ok";
      await waitFor(async () => /\bOK\b/.test((await card("kitchen")).text), "kitchen OK again");
      kitchen.mode = "paper_out";
      await waitFor(async () => /PAPER OUT/.test((await card("kitchen")).text), "kitchen out");
      await browser.viewport(1280, 900);
      await new Promise((r) => setTimeout(r, 300));
      await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
      await Deno.writeFile(
        new URL("./out/status-page-printer-states.png", import.meta.url),
        await browser.screenshot(),
      );
    } finally {
      await stopAgent(agent);
    }
  },
});
