/**
 * The status page in headless Chromium (Debian's package; `.ci/run` installs it) against a
 * running agent: it shows a printed job and its preview, and its test-page button prints through
 * the TCP printer simulator. The screenshot is saved to tests/out/status-page.png.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { testConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { Browser } from "./helpers/cdp.ts";
import { localApiUrl, startAgent, stopAgent } from "../src/run.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);

Deno.test({
  name: "the status page shows the printed job and its preview, and its button prints a test page",
  ignore: !hasChromium, // CI installs chromium; elsewhere: apt-get install chromium
  async fn() {
    await using dir = await withTmpDir();
    await using server = withServer();
    using sim = PrinterSim.start();
    const config = testConfig(dir.path, {
      server: { base_url: server.url },
      printer: { transport: "tcp", port: sim.port, brand: "EPSON", paper_width: 42 },
      local_api: { enabled: true, port: 0, token: "page-token" },
    });
    const agent = await startAgent(config, { keepLogging: true });
    try {
      const url = localApiUrl(agent)!;
      const job = await server.createJob({
        job_type: "receipt",
        receipt_data: { store_name: "Toko Browser", bill_number: "INV-B-1", total: 75000 },
      });
      await waitFor(async () => (await server.getJob(job.id)).status === "COMPLETED", "printed");
      await using browser = await Browser.launch(CHROMIUM);
      await browser.goto(url);
      const text = await browser.eval<string>("document.body.innerText");
      assertMatch(text, /Print Agent — POS-001/);
      assertMatch(text, /PRINTED/);
      const preview = await browser.eval<string>(
        "document.querySelector('details').open = true, document.querySelector('pre.paper').textContent",
      );
      assertMatch(preview, /TOTAL +Rp 75\.000/);
      // the button without a token is refused, with the token it prints
      await browser.eval("document.getElementById('test-page').click()");
      await waitFor(
        () =>
          browser.eval<string>("document.getElementById('msg').textContent").then((t) =>
            t.includes("Refused")
          ),
        "refusal shown",
      );
      assertEquals(sim.jobs.length, 1);
      await browser.eval(
        "document.getElementById('token').value = 'page-token'; document.getElementById('test-page').click()",
      );
      await sim.waitForJobs(2, 10_000);
      assertMatch(new TextDecoder("latin1").decode(sim.jobs[1].bytes), /TEST PAGE|T E S T/);
      await new Promise((r) => setTimeout(r, 1200)); // the page reloads to show the new job
      await browser.goto(url);
      assertMatch(await browser.eval<string>("document.body.innerText"), /test/);
      const png = await browser.screenshot();
      assertEquals([...png.slice(1, 4)], [0x50, 0x4e, 0x47]);
      await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
      await Deno.writeFile(new URL("./out/status-page.png", import.meta.url), png);
      assert(png.length > 5000);
    } finally {
      await stopAgent(agent);
    }
  },
});
