"""A serial ESC/POS printer on a pseudo-terminal, for the serial tests (Linux and Wine's COM ports).

Prints {"path": "/dev/pts/N"} first. Answers each DLE EOT n with the current state's byte (the table
comes from tests/helpers/printer_states.ts as argv[1]); keeps the other bytes as printed while the
state prints (argv[2]), else drops them (a printer out of paper prints nothing). Commands on stdin:
"mode <state>", "silent", "dump" (prints {"printed": hex, "dropped": n, "queries": n}), "quit".
"""
import json
import os
import pty
import select
import sys
import tty

answers = json.loads(sys.argv[1])
printing_states = set(json.loads(sys.argv[2]))
master, slave = pty.openpty()
tty.setraw(slave)
print(json.dumps({"path": os.ttyname(slave)}), flush=True)
mode, silent = "ok", False
printed, dropped, queries = bytearray(), 0, 0
held = bytearray()


def take(data):
    """Handles bytes from the agent: answers status questions, prints or drops the rest."""
    global held, printed, dropped, queries
    held += data
    i = 0
    while i < len(held):
        if held[i] == 0x10 and i + 1 < len(held) and held[i + 1] == 0x04:
            if i + 2 >= len(held):
                break  # the rest of the question comes in the next read
            queries += 1
            if not silent:
                os.write(master, bytes([answers[mode][str(held[i + 2])]]))
            i += 3
            continue
        if held[i] == 0x10 and i + 1 == len(held):
            break
        if mode in printing_states:
            printed.append(held[i])
        else:
            dropped += 1
        i += 1
    del held[:i]


def read_master(wait):
    """Reads what the agent wrote within `wait` seconds; False when nothing came."""
    ready, _, _ = select.select([master], [], [], wait)
    if not ready:
        return False
    try:
        take(os.read(master, 65536))
    except OSError:
        return False  # no one has the other end open just now
    return True


while True:
    ready, _, _ = select.select([master, sys.stdin], [], [])
    # the agent's bytes first: what it wrote before asking the host is handled before the command
    if master in ready:
        read_master(0)
    if sys.stdin in ready:
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            break
        cmd = line.split()
        if cmd[0] == "mode":
            mode, silent = cmd[1], False
        elif cmd[0] == "silent":
            silent = True
        elif cmd[0] == "dump":
            while read_master(0.05):
                pass  # bytes still in the pseudo-terminal belong to what was printed
            print(json.dumps({"printed": printed.hex(), "dropped": dropped, "queries": queries}),
                  flush=True)
