#!/usr/bin/env python3
"""check.py STYLE LAB: judge what e2e/console.py recorded for both nodes and three rounds
(first boot; a plain reboot; a boot after a reimage — lion keeping its identity, tiger with
--new-identity and a bigger volume), and what e2e/run.sh saw on the router's side after each
(the node's boot report in its root, the runtimes' state dirs on the NFS root, `rpinet
status --json`). Prints one line per check and exits non-zero when any failed."""
import json
import os
import re
import subprocess
import sys

style, lab = sys.argv[1:3]
NODES = {"lion": "e2e00001", "tiger": "e2e00002"}
# Where the nodes' trees are served from: the router's SSD, or an NFS server (E2E_STORAGE).
STORAGE = os.environ.get("E2E_NFS", "10.99.0.1:/mnt/rpinet")
GOLDEN_ID = "0123456789abcdef0123456789abcdef"
ROUNDS = ("first", "reboot", "reimage")
LABEL = {"first": "first boot", "reboot": "reboot", "reimage": "boot after the reimage"}
# The runtimes each style's image has enabled (e2e/image.sh), as the boot report names them.
RUNTIMES = {"bookworm": ["docker", "containerd"], "trixie": ["containerd"]}
HELLO = {"docker": "hello-from-docker", "containerd": "hello-from-containerd"}
BLOB_BYTES = 50 * 2**20
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
def on_volume(mount):
    """findmnt's SOURCE FSTYPE: the volume's ext4 on its loop device (a bind shows its dir)."""
    src = mount.split()
    return len(src) == 2 and src[0].startswith("/dev/loop") and src[1] == "ext4"


def parse_report(text):
    """The node's boot report, as console.py recorded it (lines joined by '|')."""
    lines = text.split("|")
    rep = {"magic": lines[0], "cycle": [], "runtime": [], "failed": []}
    for line in lines[1:]:
        k, _, v = line.partition("=")
        if k in ("cycle", "runtime", "failed"):
            rep[k].append(v)
        else:
            rep[k] = v
    return rep


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def container_checks(node, rnd, r):
    rt = r.get("runtime", "")
    want = RUNTIMES[style]
    check(f"{' and '.join(want)}: active", r.get("rt_active") == "|".join(["active"] * len(want)),
          r.get("rt_active"))
    check(f"{' and '.join(want)}: enabled", r.get("rt_enabled") == "|".join(["enabled"] * len(want)),
          r.get("rt_enabled"))
    state = "/var/lib/" + rt
    check(f"{state} is the volume's (ext4 on its loop device)", on_volume(r.get("state_mount", "")),
          r.get("state_mount"))
    if rt == "docker":
        st = r.get("storage", "")
        check("docker info: storage driver overlay2 on extfs (not nfs)",
              st.startswith("overlay2 ") and "Backing Filesystem=extfs;" in st, st)
        check("docker import of the local busybox root", r.get("import", "").startswith("sha256:"),
              r.get("import"))
    else:
        check("containerd snapshotter overlayfs loaded", r.get("storage") == "io.containerd.snapshotter.v1 overlayfs ok",
              r.get("storage"))
        check("overlayfs snapshots on the volume", on_volume(r.get("snapshots_fs", "")), r.get("snapshots_fs"))
        check("ctr image import of the local OCI archive",
              "docker.io/rpinet-e2e/busybox:latest" in r.get("import", "").split("|"), r.get("import"))
    check(f"{'docker run' if rt == 'docker' else 'ctr run'}: the container printed its line",
          r.get("run") == HELLO[rt], r.get("run"))
    data = (r.get("data", "").split("|") + ["", "", ""])[:3]
    sha = data[1].split()[0] if data[1] else ""
    ok = re.fullmatch(r"[0-9a-f]{64}", sha) is not None and data[2] == str(BLOB_BYTES)
    if rnd == "first":
        check("50 MB written inside a container onto the volume", ok and data[0] == "written", r.get("data"))
    else:
        first = results.get((node, "first")) or {}
        fdata = (first.get("data", "").split("|") + ["", ""])[:2]
        fsha = fdata[1].split()[0] if fdata[1] else None
        check("the container's 50 MB kept intact (same sha256 as written at the first boot)",
              ok and data[0] == "kept" and sha == fsha, r.get("data"))
    fs = r.get("data_fs", "").split(None, 1)
    check("the container's data dir is on the volume", len(fs) == 2 and on_volume(fs[1]), r.get("data_fs"))
    # The node's own report of this boot.
    rep = parse_report(r.get("report", ""))
    check("boot report: this boot's, rpinet-boot-report 1, state=running",
          rep["magic"] == "rpinet-boot-report 1" and rep.get("state") == "running"
          and rep.get("mode") == "multi-user", r.get("report"))
    check("boot report: no ordering cycle, no failed unit", not rep["cycle"] and not rep["failed"],
          rep["cycle"] + rep["failed"])
    check("boot report: volume=active ext4", rep.get("volume") == "active ext4", rep.get("volume"))
    for w in want:
        check(f"boot report: runtime={w} active enabled", f"{w} active enabled" in rep["runtime"],
              rep["runtime"])
    # The router's side.
    seen = (read_text(f"{lab}/{node}.{rnd}.report") or "").split()
    if len(seen) == 3:
        check(f"router: the report appeared in the node's root {int(seen[0]) / 1000:.1f} s after "
              f"qemu started, {seen[1]} bytes, state {seen[2]}", seen[2] == "running", seen)
    else:
        check("router: the report of this boot appeared in the node's root", False, seen)
    nfs = read_text(f"{lab}/{node}.{rnd}.nfs-state")
    check("router: nothing written into the runtimes' state dirs on the NFS root itself",
          nfs == "", nfs and nfs[:300])
    status = statuses.get(rnd)
    boot = None
    for n in (status or {}).get("nodes", []):
        if n.get("name") == node:
            boot = n.get("boot") or {}
    if boot is None:
        check("router: rpinet status --json lists the node", False, status and "no such node")
    else:
        times = ((boot.get("report") or {}).get("times") or {})
        # initrd_ms stays null: Debian's initramfs-tools runs no systemd in the initramfs,
        # so systemd knows no initrd time.
        shown = ", ".join(f"{k}={times.get(k)}" for k in ("kernel_ms", "userspace_ms", "multi_user_ms"))
        check(f"router: rpinet status: boot.stage running, with times {shown}",
              boot.get("stage") == "running"
              and all(isinstance(times.get(k), int) and times[k] > 0
                      for k in ("kernel_ms", "userspace_ms", "multi_user_ms")),
              {k: boot.get(k) for k in ("stage", "problems", "report_error", "stages")})


def load_status(rnd):
    try:
        with open(f"{lab}/status.{rnd}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


statuses = {rnd: load_status(rnd) for rnd in ROUNDS}
results = {(n, r): load(n, r) for n in NODES for r in ROUNDS}
for (node, rnd), r in results.items():
    print(f"{style} {node} ({LABEL[rnd]})")
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
    nfsroot = next((t.split("=", 1)[1].split(",")[0] for t in toks if t.startswith("nfsroot=")), "")
    check(f"root from {STORAGE}", nfsroot == f"{STORAGE}/nfs/{node}", nfsroot)
    want = f"{STORAGE}/tftp/{NODES[node]}"
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
    if rnd != "first":
        check(f"the volume kept its data ({LABEL[rnd]})", r["volume_marker"] != "", r["volume_marker"])
    if rnd == "reimage" and node == "tiger" and "volume_bytes" in r:
        check("tiger's volume grown from 2G to 3G: its filesystem grew with it",
              r["volume_bytes"].isdigit() and int(r["volume_bytes"]) > 2.5 * 2**30, r["volume_bytes"])

    # The node's own files: a fresh root (first boot, reimage) has none, a reboot finds
    # its own; the router sees each node's in its root and none in the image.
    want = node if rnd == "reboot" else ""
    check(f"its own file: {'its name' if want else 'none yet'} (never another node's)",
          r.get("own_file") == want, r.get("own_file"))
    check("router: the node's file is in its root alone, not in the image",
          (read_text(f"{lab}/{node}.{rnd}.owner") or "").strip() == f"{node} image:none",
          read_text(f"{lab}/{node}.{rnd}.owner"))
    container_checks(node, rnd, r)

for rnd in ROUNDS:
    a, b = results[("lion", rnd)], results[("tiger", rnd)]
    if a and b:
        print(f"{style} both nodes ({LABEL[rnd]})")
        check("distinct machine-ids", a["machine_id"] != b["machine_id"], (a["machine_id"], b["machine_id"]))
        check("distinct host keys", a["host_key"] != b["host_key"], (a["host_key"], b["host_key"]))
print(f"{style} identity across the reboot")
for node in NODES:
    a, b = results[(node, "first")], results[(node, "reboot")]
    if a and b:
        check(f"{node}: same machine-id", a["machine_id"] == b["machine_id"], (a["machine_id"], b["machine_id"]))
        check(f"{node}: same host key", a["host_key"] == b["host_key"], (a["host_key"], b["host_key"]))
    else:
        check(f"{node} booted twice", False, "missing a session")
l1, l2 = results[("lion", "reboot")], results[("lion", "reimage")]
t1, t2 = results[("tiger", "reboot")], results[("tiger", "reimage")]
print(f"{style} identity across the reimage")
if l1 and l2:
    check("lion (reimaged): same machine-id", l1["machine_id"] == l2["machine_id"], (l1["machine_id"], l2["machine_id"]))
    check("lion (reimaged): same host key", l1["host_key"] == l2["host_key"], (l1["host_key"], l2["host_key"]))
else:
    check("lion booted after the reimage", False, "missing a session")
if t1 and t2:
    check("tiger (--new-identity): new machine-id", t1["machine_id"] != t2["machine_id"], t2["machine_id"])
    check("tiger (--new-identity): new host key", t1["host_key"] != t2["host_key"], t2["host_key"])
else:
    check("tiger booted after the reimage", False, "missing a session")
if os.path.exists(f"{lab}/router-exports"):
    print(f"{style} storage on an NFS server ({STORAGE})")
    check("router: /etc/exports has nothing for the nodes", read_text(f"{lab}/router-exports") == "",
          read_text(f"{lab}/router-exports"))
# A summary table: one line a node and round.
print(f"{style} summary")
print(f"  {'node':6} {'round':8} {'container run':22} {'volume data':12} {'report':9} {'to report':>10} {'bytes':>6} {'status':8}")
for (node, rnd), r in results.items():
    r = r or {}
    data = (r.get("data", "").split("|") + [""])[0] or "-"
    rep = parse_report(r.get("report", "")).get("state", "-")
    seen = (read_text(f"{lab}/{node}.{rnd}.report") or "").split()
    secs = f"{int(seen[0]) / 1000:.1f} s" if len(seen) == 3 else "-"
    size = seen[1] if len(seen) == 3 else "-"
    stage = "-"
    for n in (statuses.get(rnd) or {}).get("nodes", []):
        if n.get("name") == node:
            stage = (n.get("boot") or {}).get("stage", "-")
    print(f"  {node:6} {rnd:8} {r.get('run', '-') or '-':22} {data:12} {rep:9} {secs:>10} {size:>6} {stage:8}")
print(f"{style}: {'all checks passed' if failures == 0 else f'{failures} checks FAILED'}")
sys.exit(1 if failures else 0)
