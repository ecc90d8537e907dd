#!/usr/bin/env python3
"""The parts of make-fixtures.sh that are easier in Python than in the shell.

  lab.py serve DIR PORT           serve DIR on 127.0.0.1:PORT, 64 KiB every 40 ms (a slow
                                  link, so that an import is seen in progress)
  lab.py job LAB ID OUT           follow job ID's state file until the job ends; OUT gets every
                                  state it went through, in order (a JSON array)
  lab.py roll RPINET LAB ID OUT   the same for an image roll, and boot the nodes as the roll
                                  switches them, as dnsmasq's hooks would record it:
                                  running_lion comes up and its OS reports a running boot
                                  (what rpinet-report writes into its root), quiet_otter
                                  misses cmdline.txt
  lab.py tidy DIR SHIFT           every JSON file of DIR: times (Unix seconds) minus SHIFT, job
                                  ids made stable, indented as json.tool does
  lab.py uci FILE                 a UCI file as LuCI's `uci get` returns it (JSON)
  lab.py index DIR                DIR/calls.json from the calls make-fixtures.sh recorded
                                  (DIR/.calls: FILE, METHOD, ARGS a line): method, arguments,
                                  the reply's file and, for a job, the file of its states

Nothing here changes what rpinet answers: `job` and `roll` only read the state files rpinet
writes (`roll` adds what the nodes would: boot events and a boot report), and `tidy` moves
every time by the same amount, so what is relative stays true.
"""

import http.server
import json
import os
import re
import shlex
import subprocess
import sys
import time

TIME_KEYS = {"started", "updated", "time", "first_seen", "last_seen", "created", "fetched", "written"}
JOB_ID = re.compile(r"^j([0-9]{9,11})-([0-9]+)$")


def serve(root, port):
    class Slow(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=root, **kw)

        def copyfile(self, src, dst):
            while True:
                chunk = src.read(64 * 1024)
                if not chunk:
                    return
                dst.write(chunk)
                dst.flush()
                time.sleep(0.04)

        def log_message(self, *a):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Slow).serve_forever()


def read_state(lab, job_id):
    try:
        with open(os.path.join(lab, "tmp/rpinet/jobs", job_id + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def follow(lab, job_id, out, on_state=None, limit=120):
    """Every distinct state of the job until it is done or failed."""
    states, deadline = [], time.time() + limit
    while time.time() < deadline:
        s = read_state(lab, job_id)
        if s is not None and (not states or s != states[-1]):
            states.append(s)
            if on_state:
                on_state(s)
            if s.get("state") in ("done", "failed"):
                break
        time.sleep(0.02)
    else:
        sys.exit(f"lab.py: job {job_id} did not end within {limit} s")
    with open(out, "w") as f:
        json.dump(states, f)


def roll(rpinet, lab, job_id, out):
    booted = set()
    pxe = "PXEClient:Arch:00000:UNDI:002001"
    nodes = {
        # name: (mac, ip, boot dir, files fetched, the hostname the OS asks with or None)
        "running_lion": ("dc:a6:32:79:26:df", "192.168.1.57", "38c128c0", ["start4.elf", "kernel8.img"], "running-lion"),
        "quiet_otter": ("2c:cf:67:0a:11:2b", "192.168.1.71", "2c-cf-67-0a-11-2b", ["config.txt", "kernel_2712.img"], None),
    }

    def event(kind, env):
        subprocess.run([rpinet, "--root", lab, "event", kind], env=env, check=True)

    def boot(name):
        mac, ip, d, files, host = nodes[name]
        event("dhcp", {"ACTION": "add", "MACADDR": mac, "IPADDR": ip, "DNSMASQ_VENDOR_CLASS": pxe})
        for f in files:
            event("tftp", {"ACTION": "add", "TFTP_SIZE": "1000", "TFTP_ADDR": ip,
                           "TFTP_PATH": f"/mnt/rpinet/tftp/{d}/{f}"})
            if host is None and f == "config.txt":
                # what dnsmasq's "file not found" line in logread becomes
                with open(os.path.join(lab, "tmp/rpinet/events.log"), "a") as log:
                    log.write(f"{int(time.time())}\tmiss\t{ip}\t/mnt/rpinet/tftp/{d}/cmdline.txt\tnot found\n")
        if host:
            event("dhcp", {"ACTION": "update", "MACADDR": mac, "IPADDR": ip, "HOSTNAME": host})
            # the OS up: rpinet-report writes how the boot ended into the node's root (rpinet's
            # roll waits for a running boot, not only for the OS asking for its lease)
            report = os.path.join(lab, "mnt/rpinet/nfs", name, "var/lib/rpinet")
            os.makedirs(report, exist_ok=True)
            with open(os.path.join(report, "boot-report"), "w") as f:
                f.write("rpinet-boot-report 1\nstate=running\nmode=multi-user\n"
                        "boot=0123456789abcdef0123456789abcdef\nkernel=6.6.51+rpt-rpi-v8\n"
                        "initrd_us=2500000\nuserspace_us=7500000\nfinish_us=47500000\n"
                        "multi_user_us=46000000\n")

    def on_state(s):
        for n in s.get("nodes") or []:
            if n.get("state") == "booting" and n["name"] in nodes and n["name"] not in booted:
                booted.add(n["name"])
                boot(n["name"])

    follow(lab, job_id, out, on_state)


def tidy(directory, shift):
    shift = int(shift)
    files = sorted(f for f in os.listdir(directory) if f.endswith(".json"))
    data = {}
    for f in files:
        with open(os.path.join(directory, f)) as fh:
            data[f] = json.load(fh)
    ids = set()

    def collect(v):
        if isinstance(v, dict):
            for x in v.values():
                collect(x)
        elif isinstance(v, list):
            for x in v:
                collect(x)
        elif isinstance(v, str) and JOB_ID.match(v):
            ids.add(v)

    for v in data.values():
        collect(v)
    # a job id is the time it started and rpinet's pid: the time moves with the rest, the
    # pid becomes a number that only depends on the order the jobs started in
    order = sorted(ids, key=lambda i: tuple(int(x) for x in JOB_ID.match(i).groups()))
    new_id = {i: f"j{int(JOB_ID.match(i).group(1)) - shift}-{4001 + n}" for n, i in enumerate(order)}

    def fix(v, key=None):
        if isinstance(v, dict):
            return {k: fix(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x, key) for x in v]
        if key in TIME_KEYS and isinstance(v, int) and not isinstance(v, bool) and v > 1_000_000_000:
            return v - shift
        if isinstance(v, str) and v in new_id:
            return new_id[v]
        return v

    for f, v in data.items():
        with open(os.path.join(directory, f), "w") as fh:
            json.dump(fix(v), fh, indent=4, ensure_ascii=False)
            fh.write("\n")


def uci(path):
    """A UCI file as the `uci get {config}` reply's values: sections by name, in order."""
    out, sec, n = {}, None, 0
    with open(path) as f:
        for line in f:
            words = shlex.split(line, comments=True)
            if not words:
                continue
            if words[0] == "config":
                name = words[2] if len(words) > 2 else f"cfg{n:02x}"
                sec = out[name] = {".anonymous": len(words) < 3, ".type": words[1], ".name": name, ".index": n}
                n += 1
            elif words[0] == "option" and sec is not None:
                sec[words[1]] = words[2] if len(words) > 2 else ""
            elif words[0] == "list" and sec is not None:
                sec.setdefault(words[1], []).append(words[2] if len(words) > 2 else "")
    json.dump(out, sys.stdout, indent=4)
    print()


def index(directory):
    calls = []
    with open(os.path.join(directory, ".calls")) as f:
        for line in f:
            name, method, args = line.rstrip("\n").split("\t", 2)
            entry = {"method": method, "args": json.loads(args), "reply": name + ".json"}
            if os.path.exists(os.path.join(directory, f"job-{name}.json")):
                entry["job"] = f"job-{name}.json"
            calls.append(entry)
    os.remove(os.path.join(directory, ".calls"))
    with open(os.path.join(directory, "calls.json"), "w") as f:
        json.dump(calls, f)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve": serve, "job": follow, "roll": roll, "tidy": tidy, "uci": uci, "index": index}[cmd](*args)
