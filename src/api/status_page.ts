/**
 * The status page a technician opens on the terminal (or remotely, with the token): live — it
 * asks `/status` and `/jobs` every 2 s and redraws only what changed — with a card per printer,
 * the agent's health apart from "the last job failed", each job's error code and message, actions
 * that fit the job's state, times in the store's locale, a filter by bill number and state, and
 * the tail of the log for remote support (token).
 * @module
 */

/** What the page needs to know when it is served. */
export interface PageOptions {
  /** The terminal shown in the title. */
  terminalId: string;
  /** The store's locale and time zone (render.locale, render.time_zone) for times. */
  locale: string;
  /** IANA time zone for the page's times (null: the browser's). */
  timeZone: string | null;
}

/** Failures that printing again cannot mend (the job's content is the problem): no button. */
export const NOT_AGAIN = [
  "BAD_PAYLOAD",
  "INVALID_BASE64",
  "JOB_TOO_LARGE",
  "UNSUPPORTED_JOB_TYPE",
  "DUPLICATE_UUID",
];

/** Error codes of jobs that may already be on paper: "Print again" asks first. */
export const MAY_BE_ON_PAPER = [
  "INTERRUPTED_MAY_HAVE_PRINTED",
  "JOURNAL_RESET_MAY_HAVE_PRINTED",
  "PRINT_STUCK_IN_QUEUE",
];

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: a shell the script fills in, and fills in again every 2 seconds. */
export function statusPageHtml(o: PageOptions): string {
  const config = JSON.stringify({
    locale: o.locale,
    timeZone: o.timeZone,
    mayBeOnPaper: MAY_BE_ON_PAPER,
    notAgain: NOT_AGAIN,
  }).replace(/</g, "\\u003c");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Print Agent ${escapeHtml(o.terminalId)}</title><style>
body{font:15px system-ui,sans-serif;margin:12px;color:#222}h1{font-size:20px;margin:0 0 8px}
.card{border:1px solid #ccc;border-radius:8px;padding:10px;margin:8px 0}.ok{color:#176b2c}.bad{color:#b3261e}.warn{color:#8a5a00}
.cards{display:flex;flex-wrap:wrap;gap:8px}.cards .card{flex:1 1 14em;margin:0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:4px;text-align:left;vertical-align:top}
td.err small{color:#555}
dialog#paper{max-height:92vh;overflow:auto;padding:8px}dialog#paper img{display:block;background:#fff;border:1px dashed #aaa;max-width:100%}
pre.log{background:#111;color:#ddd;padding:6px;font:12px monospace;max-height:24em;overflow:auto}
button{padding:6px 12px;margin:2px}#msg{min-height:1.2em}input,select{padding:5px;max-width:100%}
body{overflow-wrap:break-word}button{white-space:nowrap}dialog#paper{max-width:calc(100vw - 24px);box-sizing:border-box}
@media (max-width:640px){
 #jobtable thead{display:none}#jobtable,#jobtable tbody,#jobtable tr,#jobtable td{display:block;width:auto}
 #jobtable tr{border:1px solid #ddd;border-radius:8px;margin:6px 0;padding:4px 6px}
 #jobtable td{border:0;padding:2px 0}#jobtable td:empty{display:none}
 #jobtable td[data-label]::before{content:attr(data-label) ": ";color:#666}
}
</style></head><body>
<h1>Print Agent — ${escapeHtml(o.terminalId)}</h1>
<div class="card" id="health">Loading…</div>
<div class="cards" id="printers"></div>
<div class="card"><label>Token <input id="token" type="password" autocomplete="off" placeholder="local_api.token"></label>
<button id="test-page">Print test page</button> <button id="show-log">Show log</button> <span id="msg"></span>
<pre class="log" id="log" hidden></pre></div>
<div class="card"><label>Bill <input id="f-bill" placeholder="bill number"></label>
<label>State <select id="f-state"><option value="">all</option><option>PRINTED</option><option>FAILED</option><option>PRINTING</option><option>RECEIVED</option></select></label>
<small id="updated"></small></div>
<table id="jobtable"><thead><tr><th>Job</th><th>Bill</th><th>Type</th><th>Printer</th><th>State</th><th>Received</th><th>Error</th><th></th><th></th></tr></thead>
<tbody id="jobs"><tr><td colspan="9">Loading…</td></tr></tbody></table>
<dialog id="paper"><form method="dialog"><button>Close</button> <a id="paper-text" target="_blank">as text</a></form>
<img id="paper-img" alt="the receipt as it prints"></dialog>
<script>
const CFG = ${config};
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
const when = new Intl.DateTimeFormat(CFG.locale, { dateStyle: "medium", timeStyle: "medium", ...(CFG.timeZone ? { timeZone: CFG.timeZone } : {}) });
const fmt = (iso) => iso ? when.format(new Date(iso)) : "";
const badge = (v, good) => '<b class="' + (good ? "ok" : "bad") + '">' + esc(v) + "</b>";
const tok = $("token");
tok.value = sessionStorage.getItem("pa-token") || "";
let jobs = [], last = "", lastStatus = "";

function health(st) {
  // the agent's own health, apart from "the last job failed" (that is each printer's business)
  const h = st.state_store === "UNWRITABLE" ? badge("cannot write its state folder", false)
    : st.agent_status === "STOPPED" ? badge("stopped", false)
    : st.agent_status === "ERROR"
    // what /health and the heartbeat call ERROR: running, but a printer's last job failed
    ? badge("running", true) + ' <b class="warn">(ERROR: the last job of a printer failed, see its card)</b>'
    : badge(st.agent_status === "PRINTING" ? "printing" : "running", true);
  const server = st.server.reachable ? badge("reachable", true) : badge("unreachable", false);
  const refused = st.reports_refused > 0 ? ' · <b class="bad">Reports refused by the server (24 h): ' + st.reports_refused + "</b>" : "";
  const age = st.oldest_report_age_seconds > 60 ? ' <b class="bad">(oldest ' + Math.round(st.oldest_report_age_seconds / 60) + " min)</b>" : "";
  return "Agent: " + h + " · Server: " + server + " <small>" + esc(st.server.base_url) + "</small> · Queue " + st.queue_depth +
    " · Reports waiting " + st.outbox_depth + age + refused + " · v" + esc(st.version) + " · up " + uptime(st.uptime_seconds) +
    configLine(st.config) + updateLine(st.update);
}

/** Self-update, where a technician looks: only when something is under way or went wrong. */
function updateLine(u) {
  if (!u || u.state === "idle" && !u.error || u.state === "done") return "";
  if (u.state === "rolled_back" || u.state === "failed" || u.error) {
    return ' · <b class="bad">Update to ' + esc(String(u.target)) + " " + esc(u.state.replaceAll("_", " ")) +
      " (" + esc(u.error || "") + ")</b>";
  }
  return ' · <b class="warn">Update to ' + esc(String(u.target)) + ": " + esc(u.state) + "</b>";
}

/** What became of the configuration the POS server sent (docs/updates.md); nothing when none. */
function configLine(c) {
  if (!c || c.state === "none") return "";
  if (c.state === "applied") return " · Config: server revision " + esc(String(c.running_revision));
  if (c.state === "trial") return ' · <b class="warn">Config: trying revision ' + esc(String(c.pending_revision)) + "</b>";
  const base = c.running_revision === null ? "the local file" : "revision " + esc(String(c.running_revision));
  return ' · <b class="bad">Config: revision ' + esc(String(c.pending_revision)) + " " + esc(c.state) +
    " (" + esc(c.error || "") + "); running " + base + "</b>";
}

/** 42 s, 5 min, 3 h 20 min, 2 d 4 h: how long the agent has been up, as a person says it. */
function uptime(s) {
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (d > 0) return d + " d " + (h % 24) + " h";
  return h > 0 ? h + " h " + (m % 60) + " min" : m + " min";
}

/** What a refusal means for the person at the page. */
function refusal(status, body) {
  if (status === 401) return "Refused: type the local API token (local_api.token) in the Token box above";
  if (status === 403) return "Refused: " + (body.error || "not allowed");
  return "Refused: " + (body.error || status);
}

// a warning (near end, not known) is not a fault: it still prints
const printerBadge = (s) => '<b class="' + (s === "OK" ? "ok" : s === "PAPER_NEAR_END" || s === "UNKNOWN" ? "warn" : "bad") + '">' + esc(s.replaceAll("_", " ")) + "</b>";

function printerCard(p) {
  const last = p.consecutive_errors > 0 ? '<br><span class="warn">last ' + p.consecutive_errors + " job(s) failed</span>" : "";
  const fo = p.failover_active ? ' · <b class="bad">FAILED OVER to ' + esc(p.backup) + "</b>" : "";
  // say what does not fail over, so a failed receipt is not looked for on the backup
  const stays = p.backup && !p.failover_receipts ? " <small>(receipts stay on this printer)</small>" : "";
  return '<div class="card printer" data-printer="' + esc(p.id) + '"><b>' + esc(p.id) + "</b> <small>" + esc(p.roles.join(", ")) +
    "</small><br>" + printerBadge(p.status) + " " + esc(p.name) + " <small>" + esc(p.detail) +
    (p.status_since ? " · since " + esc(fmt(p.status_since)) : "") + "</small><br>Queue " +
    p.queue_depth + (p.backup ? " · backup " + esc(p.backup) + stays : "") + fo + last + "</div>";
}

function action(j) {
  if (j.state === "PRINTED" && j.can_reprint) return '<button data-act="reprint" data-uuid="' + esc(j.uuid) + '">Reprint</button>';
  if (j.state === "FAILED" && j.can_print_again && !CFG.notAgain.includes(j.error_code)) {
    const risky = CFG.mayBeOnPaper.includes(j.error_code) ? ' data-risky="1"' : "";
    return '<button data-act="print-again" data-uuid="' + esc(j.uuid) + '"' + risky + ">Print again</button>";
  }
  return "";
}

function row(j) {
  const err = j.error_code ? "<b>" + esc(j.error_code) + "</b><br><small>" + esc(j.error_message) + "</small>" : "";
  const prev = j.has_preview ? '<button data-paper="' + esc(j.uuid) + '">Preview</button>' : "";
  // each cell says what it is (shown as a label where the table becomes cards: a phone)
  const td = (label, html, cls) => "<td" + (cls ? ' class="' + cls + '"' : "") + (html ? ' data-label="' + label + '"' : "") + ">" + html + "</td>";
  return '<tr data-uuid="' + esc(j.uuid) + '">' + td("Job", esc(j.id)) + td("Bill", esc(j.bill_number)) + td("Type", esc(j.job_type)) +
    td("Printer", esc(j.printer) + (j.meant_for ? " <small>(for " + esc(j.meant_for) + ")</small>" : "")) + td("State", badge(j.state, j.state === "PRINTED")) + td("Received", esc(fmt(j.received_at))) +
    td("Error", err, "err") + "<td>" + prev + "</td><td>" + action(j) + "</td></tr>";
}

function drawJobs() {
  const bill = $("f-bill").value.trim().toLowerCase(), state = $("f-state").value;
  const shown = jobs.filter((j) => (!state || j.state === state) && (!bill || String(j.bill_number ?? "").toLowerCase().includes(bill)));
  $("jobs").innerHTML = shown.map(row).join("") || '<tr><td colspan="9">No jobs' + (jobs.length ? " match the filter" : " yet") + ".</td></tr>";
}

/** The receipt as it prints, drawn from the printer's bytes: full size, so a phone scans its QR. */
function showPaper(uuid) {
  const path = "/jobs/" + encodeURIComponent(uuid) + "/preview";
  $("paper-img").src = path + "?format=svg";
  $("paper-text").href = path;
  $("paper").showModal();
}

async function refresh() {
  try {
    const [st, js] = await Promise.all([fetch("/status").then((r) => r.json()), fetch("/jobs?limit=200").then((r) => r.json())]);
    const s = JSON.stringify(st.printers) + st.agent_status + st.state_store + st.server.reachable + st.queue_depth + st.outbox_depth + st.reports_refused;
    if (s !== lastStatus) {
      lastStatus = s;
      $("printers").innerHTML = st.printers.map(printerCard).join("");
    }
    $("health").innerHTML = health(st);
    const k = JSON.stringify(js);
    if (k !== last) { last = k; jobs = js; drawJobs(); }
    $("updated").textContent = "updated " + fmt(new Date().toISOString());
  } catch (e) {
    $("updated").textContent = "cannot reach the agent: " + e;
  }
}

async function post(path) {
  sessionStorage.setItem("pa-token", tok.value);
  const r = await fetch(path, { method: "POST", headers: { authorization: "Bearer " + tok.value } });
  const b = await r.json().catch(() => ({}));
  $("msg").textContent = r.ok ? "Sent (" + (b.outcome || "ok") + ")" : refusal(r.status, b);
  refresh();
}

document.addEventListener("click", (e) => {
  const p = e.target.closest("button[data-paper]");
  if (p) return showPaper(p.dataset.paper);
  const b = e.target.closest("button[data-act]");
  if (!b) return;
  if (b.dataset.risky && !confirm("This job may already be on paper. Check the printer first. Print it again?")) return;
  post("/jobs/" + encodeURIComponent(b.dataset.uuid) + "/" + b.dataset.act);
});
$("test-page").onclick = () => post("/test-page");
$("show-log").onclick = async () => {
  sessionStorage.setItem("pa-token", tok.value);
  const r = await fetch("/log?lines=200", { headers: { authorization: "Bearer " + tok.value } });
  $("log").hidden = false;
  $("log").textContent = r.ok ? await r.text() : refusal(r.status, await r.json().catch(() => ({})));
  $("log").scrollTop = $("log").scrollHeight; // the newest lines first in view
};
$("f-bill").oninput = drawJobs;
$("f-state").onchange = drawJobs;
refresh();
setInterval(refresh, 2000);
</script></body></html>`;
}
