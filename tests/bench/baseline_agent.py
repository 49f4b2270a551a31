"""The cost baseline: a print agent built the way the original Python agent is described.

requests polls the job list every 2 s; each new job is reported FETCHED, PRINTING, printed on a
TCP printer (connect, send, close after every job), reported COMPLETED, and its uuid written to
printed_jobs.json; a heartbeat every 30 s. Used only by `deno task bench:cost` (Debian's python3
and python3-requests), never shipped.

    python3 baseline_agent.py BASE_URL TERMINAL PRINTER_PORT STATE_DIR
"""
import json
import os
import socket
import sys
import time

import requests

BASE, TERMINAL, PORT, STATE = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
PRINTED = os.path.join(STATE, "printed_jobs.json")
POLL_S, HEARTBEAT_S = 2.0, 30.0
session = requests.Session()


def load_printed():
    try:
        with open(PRINTED) as f:
            return set(json.load(f))
    except (OSError, ValueError):
        return set()


def save_printed(printed):
    tmp = PRINTED + ".tmp"
    with open(tmp, "w") as f:
        json.dump(sorted(printed), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, PRINTED)


def report(job_id, status, attempt=1):
    body = {"status": status, "attempt": attempt,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    session.post(f"{BASE}/print-jobs/{job_id}/status/", json=body, timeout=10)


def render(job):
    data = job.get("receipt_data") or {}
    out = bytearray(b"\x1b@")
    out += (str(data.get("store_name", "")) + "\n").encode("cp437", "replace")
    out += ("Bill " + str(data.get("bill_number", "")) + "\n").encode("cp437", "replace")
    for item in data.get("items", []):
        line = f"{item.get('qty', 1)} x {item.get('name', '')}  {item.get('price', '')}\n"
        out += line.encode("cp437", "replace")
    out += b"\n\n\n\x1dV\x00"
    return bytes(out)


def print_bytes(data):
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as s:
        s.sendall(data)  # closed after every job: the output comes out at once


def heartbeat():
    body = {"terminal_id": TERMINAL, "agent_status": "READY", "printer_status": "OK"}
    session.post(f"{BASE}/print-agents/heartbeat/", json=body, timeout=10)


def main():
    os.makedirs(STATE, exist_ok=True)
    printed = load_printed()
    next_beat = 0.0
    while True:
        now = time.monotonic()
        try:
            if now >= next_beat:
                heartbeat()
                next_beat = now + HEARTBEAT_S
            r = session.get(f"{BASE}/print-jobs/",
                            params={"terminal_id": TERMINAL, "status": "PENDING"}, timeout=10)
            jobs = r.json()
            jobs = jobs.get("results", []) if isinstance(jobs, dict) else jobs
            for job in jobs:
                if job["uuid"] in printed:
                    report(job["id"], "COMPLETED")
                    continue
                report(job["id"], "FETCHED")
                report(job["id"], "PRINTING")
                print_bytes(render(job))
                printed.add(job["uuid"])
                save_printed(printed)
                report(job["id"], "COMPLETED")
            if jobs:
                continue
        except (requests.RequestException, OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
        time.sleep(POLL_S)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
