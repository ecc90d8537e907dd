#!/usr/bin/env python3
"""check.py STYLE LAB: judge what e2e/console.py recorded for both nodes and both rounds
(first boot; boot after a reimage — lion keeping its identity, tiger with --new-identity).
Prints one line per check and exits non-zero when any failed."""
import json
import re
import subprocess
import sys

style, lab = sys.argv[1:3]
NODES = {"lion": "e2e00001", "tiger": "e2e00002"}
GOLDEN_ID = "0123456789abcdef0123456789abcdef"
failures = 0


def check(what, ok, got):
    global failures
    print(f"  {'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f": got {got!r}"))
    failures += 0 if ok else 1


def load(node, rnd):
    try:
        with open(f"{lab}/{node}.{rnd}.json") as f:
            return json.load(f)
    except OSError:
        return None


golden_key = subprocess.run(
    ["ssh-keygen", "-lf", f"{lab}/mnt/rpinet/images/{style}/root/etc/ssh/ssh_host_ed25519_key.pub"],
    capture_output=True, text=True).stdout.split(" ")[1:2]
results = {(n, r): load(n, r) for n in NODES for r in ("first", "second")}
for (node, rnd), r in results.items():
    print(f"{style} {node} ({rnd} boot)")
    if r is None:
        check("logged in on the serial console as the provisioned user", False, "no session")
        continue
    check(f"logged in with the provisioned password (after {r['login_seconds']} s)", True, None)
    check("hostname", r["hostname"] == node, r["hostname"])
    toks = r["cmdline"].split()
    check("no SD-card firstboot/resize in the kernel command line",
          not any(t.startswith("init=") or t == "resize" for t in toks), r["cmdline"])
    fstype, opts = (r["root"].split() + ["", ""])[:2]
    check("root on NFS, read-write", fstype.startswith("nfs") and "rw" in opts.split(","), r["root"])
    want = f"10.99.0.1:/mnt/rpinet/tftp/{NODES[node]}"
    check("/boot/firmware is the node's TFTP dir", r["boot_firmware"] == want, r["boot_firmware"])
    check("machine-id is the node's own", re.fullmatch(r"[0-9a-f]{32}", r["machine_id"]) is not None
          and r["machine_id"] != GOLDEN_ID, r["machine_id"])
    check("host key is not the image's", r["host_key"] != "" and [r["host_key"]] != golden_key, r["host_key"])
    check("sudo works for the provisioned user", r["sudo"] == "0", r["sudo"])
    check("systemctl is-system-running: running", r["running"] == "running", r["running"])
    check("systemctl --failed is empty", r["failed"] == "", r["failed"])
    check("no swap", r["swap"] == "", r["swap"])
    check("sshd active", r["ssh"] == "active", r["ssh"])
    check("sshd.service is ssh.service (enabled with its alias)",
          r.get("ssh_alias") == "ssh.service", r.get("ssh_alias"))
    src = r["volume"].split()
    check("volume: ext4 on a loop device at /var/lib/rpinet-volume",
          len(src) == 2 and src[0].startswith("/dev/loop") and src[1] == "ext4", r["volume"])
    check("runtime state dirs bound onto the volume",
          r["binds"] == "rancher|containerd|docker|kubelet|k0s", r["binds"])
    check("mount -t overlay with its upper dir on the volume: mounted and writable",
          r["overlay_volume"] == "writable", r["overlay_volume"])
    check("mount -t overlay with its upper dir on the NFS root: refused or read-only",
          "writable" not in r["overlay_nfs"], r["overlay_nfs"])
    print(f"       (kernel: {r['overlay_dmesg']})")
    if style == "trixie":
        check("cloud-init used the node's instance-id", r["cloud_instance"] == f"rpinet-{node}",
              r["cloud_instance"])
        check("cloud-init finished", r["cloud_status"] == "status: done", r["cloud_status"])
    if rnd == "second":
        check("the volume kept its data across the reimage", r["volume_marker"] != "", r["volume_marker"])
    if rnd == "second" and node == "tiger" and "volume_bytes" in r:
        check("tiger's volume grown from 2G to 3G: its filesystem grew with it",
              r["volume_bytes"].isdigit() and int(r["volume_bytes"]) > 2.5 * 2**30, r["volume_bytes"])

for rnd in ("first", "second"):
    a, b = results[("lion", rnd)], results[("tiger", rnd)]
    if a and b:
        print(f"{style} both nodes ({rnd} boot)")
        check("distinct machine-ids", a["machine_id"] != b["machine_id"], (a["machine_id"], b["machine_id"]))
        check("distinct host keys", a["host_key"] != b["host_key"], (a["host_key"], b["host_key"]))
l1, l2 = results[("lion", "first")], results[("lion", "second")]
t1, t2 = results[("tiger", "first")], results[("tiger", "second")]
print(f"{style} identity across the reimage")
if l1 and l2:
    check("lion (reimaged): same machine-id", l1["machine_id"] == l2["machine_id"], (l1["machine_id"], l2["machine_id"]))
    check("lion (reimaged): same host key", l1["host_key"] == l2["host_key"], (l1["host_key"], l2["host_key"]))
else:
    check("lion booted twice", False, "missing a session")
if t1 and t2:
    check("tiger (--new-identity): new machine-id", t1["machine_id"] != t2["machine_id"], t2["machine_id"])
    check("tiger (--new-identity): new host key", t1["host_key"] != t2["host_key"], t2["host_key"])
else:
    check("tiger booted twice", False, "missing a session")
print(f"{style}: {'all checks passed' if failures == 0 else f'{failures} checks FAILED'}")
sys.exit(1 if failures else 0)
