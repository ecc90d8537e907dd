#!/usr/bin/env python3
"""console.py SOCKET USER PASSWORD OUT.json [RUNTIME]: log in on a booted node's serial
console and record what the e2e checks need, then power the node off. RUNTIME (docker or
containerd) adds its probes: the runtime's state, where it keeps its state, a container run
from the image e2e/oci.py put into the image, and 50 MB written inside a container onto the
volume (once; later boots find it and hash it again).

Each probe is sent as `echo "R""ESULT key=$(…)"`: the console echoes the command with the
quotes, so only the output carries RESULT. Values have their newlines turned into '|'. `S`
is sudo with the password, defined in the session.
"""
import json
import re
import socket
import sys
import time

BOOT_TIMEOUT = 900
LOGIN = r"(?<!Last )login: "
STEP_TIMEOUT = 120

PROBES = [
    ("hostname", "hostname"),
    ("cmdline", "cat /proc/cmdline"),
    ("root", "findmnt -n -o FSTYPE,OPTIONS /"),
    ("boot_firmware", "findmnt -n -o SOURCE /boot/firmware"),
    ("machine_id", "cat /etc/machine-id"),
    ("sudo", "echo \"$PW\" | sudo -S -p '' id -u"),
    ("running", "timeout 900 systemctl is-system-running --wait", 960),
    # After the boot finished: regenerate_ssh_host_keys may still be making them before.
    ("host_key", "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2"),
    ("failed", "systemctl --failed --no-legend --plain"),
    ("swap", "swapon --show --noheadings"),
    ("ssh", "systemctl is-active ssh"),
    # The name cloud-init's units order against: one unit with ssh.service from the start.
    ("ssh_alias", "systemctl show -p Id --value sshd.service"),
    ("volume", "findmnt -n -o SOURCE,FSTYPE /var/lib/rpinet-volume"),
    ("volume_unit", "systemctl is-active rpinet-volume"),
    ("volume_bytes", "findmnt -n -b -o SIZE /var/lib/rpinet-volume"),
    ("binds", "for d in rancher containerd docker kubelet k0s; do mountpoint -q /var/lib/$d && echo $d; done"),
    ("overlay_volume", "echo \"$PW\" | sudo -S -p '' sh -c 'd=/var/lib/containerd/e2e; mkdir -p $d/l $d/u $d/w $d/m; mount -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m && touch $d/m/probe && echo writable; umount $d/m 2>/dev/null' 2>&1"),
    ("overlay_nfs", "echo \"$PW\" | sudo -S -p '' sh -c 'd=/root/e2e; mkdir -p $d/l $d/u $d/w $d/m; mount -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/m && touch $d/m/probe && echo writable; umount $d/m 2>/dev/null' 2>&1"),
    ("overlay_dmesg", "echo \"$PW\" | sudo -S -p '' dmesg | grep -i overlayfs | tail -n 2"),
    ("volume_marker", "echo \"$PW\" | sudo -S -p '' sh -c 'cat /var/lib/rpinet-volume/e2e-marker 2>/dev/null; date +%s >/var/lib/rpinet-volume/e2e-marker'"),
    # A file only this node writes: what it finds there before writing its name (nothing on
    # a fresh root; its own name after a reboot; never another node's).
    ("own_file", "S sh -c 'cat /var/lib/e2e-owner 2>/dev/null; hostname >/var/lib/e2e-owner'"),
    # The files the node's processes have mapped once it is up (executables and libraries:
    # most of what a boot reads): bench/shared.sh reads these through 20 node roots.
    ("mapped", "S sh -c 'cat /proc/[0-9]*/maps 2>/dev/null' | awk '$6 ~ /^\\// {print $6}' | sort -u"),
    ("cloud_instance", "echo \"$PW\" | sudo -S -p '' cat /var/lib/cloud/data/instance-id 2>/dev/null"),
    ("cloud_status", "cloud-init status 2>/dev/null | head -n 1"),
    # This boot's report (rpinet-report writes it once start-up finished): its boot= line is
    # this boot's id.
    ("report", "S sh -c 'b=$(tr -d - </proc/sys/kernel/random/boot_id); for i in $(seq 300); do "
               "grep -qx \"boot=$b\" /var/lib/rpinet/boot-report 2>/dev/null && break; sleep 1; done; "
               "cat /var/lib/rpinet/boot-report'", 360),
]

# The data a container writes onto the volume: 50 MB the first time, then found and hashed.
DATA = ("if [ -e /data/blob ]; then echo kept; else dd if=/dev/urandom of=/data/blob bs=1M "
        "count=50 2>/dev/null && sync && echo written; fi; sha256sum </data/blob; wc -c </data/blob")
IMG = "/usr/local/share/rpinet-e2e"
LONG = 600
RUNTIME_PROBES = {
    "docker": [
        ("rt_active", "systemctl is-active docker containerd"),
        ("rt_enabled", "systemctl is-enabled docker containerd"),
        ("storage", "S docker info -f '{{.Driver}} {{range .DriverStatus}}{{index . 0}}={{index . 1}};{{end}}' 2>&1", LONG),
        ("state_mount", "findmnt -n -o SOURCE,FSTYPE /var/lib/docker"),
        ("import", f"S docker import {IMG}/busybox-rootfs.tar rpinet-e2e/busybox:latest 2>&1", LONG),
        ("run", "S docker run --rm rpinet-e2e/busybox:latest echo hello-from-docker 2>&1 </dev/null", LONG),
        ("data", "S sh -c 'docker volume create e2e-data >/dev/null && docker run --rm -v e2e-data:/data "
                 f"rpinet-e2e/busybox:latest sh -c \"{DATA}\"' 2>&1", LONG),
        ("data_fs", "S sh -c 'm=$(docker volume inspect -f \"{{.Mountpoint}}\" e2e-data); "
                    "echo \"$m $(findmnt -n -o SOURCE,FSTYPE -T $m)\"' 2>&1"),
    ],
    "containerd": [
        ("rt_active", "systemctl is-active containerd"),
        ("rt_enabled", "systemctl is-enabled containerd"),
        ("storage", "S ctr plugins ls 2>&1 | awk '$2==\"overlayfs\" {print $1, $2, $NF}'", LONG),
        ("state_mount", "findmnt -n -o SOURCE,FSTYPE /var/lib/containerd"),
        ("snapshots_fs", "S findmnt -n -o SOURCE,FSTYPE -T /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs"),
        ("import", f"S ctr image import {IMG}/busybox-oci.tar 2>&1 | tail -n 2; S ctr image ls -q", LONG),
        ("run", "S sh -c 'ctr run --rm docker.io/rpinet-e2e/busybox:latest e2e-hello-$(date +%s) "
                "echo hello-from-containerd </dev/null' 2>&1", LONG),
        ("data", "S sh -c 'mkdir -p /var/lib/rpinet-volume/e2e-data && ctr run --rm --mount "
                 "type=bind,src=/var/lib/rpinet-volume/e2e-data,dst=/data,options=rbind:rw "
                 f"docker.io/rpinet-e2e/busybox:latest e2e-data-$(date +%s) sh -c \"{DATA}\" </dev/null' 2>&1", LONG),
        ("data_fs", "echo /var/lib/rpinet-volume/e2e-data $(findmnt -n -o SOURCE,FSTYPE -T /var/lib/rpinet-volume/e2e-data)"),
    ],
}


class Console:
    def __init__(self, path):
        deadline = time.time() + 30
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.buf = ""

    def send(self, text):
        self.s.sendall(text.encode())

    def expect(self, pattern, timeout):
        rx = re.compile(pattern)
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError(f"no {pattern!r} within {timeout} s; last output: {self.buf[-400:]!r}")
            self.s.settimeout(min(left, 5))
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise EOFError(f"console closed while waiting for {pattern!r}")
            text = data.decode(errors="replace")
            # Answer cursor-position queries as a terminal does (trixie's getty and login
            # size the serial terminal with them and wait for the answer).
            for _ in range(text.count("\x1b[6n")):
                self.send("\x1b[24;80R")
            self.buf += text.replace("\r", "")


def main():
    sock, user, password, out = sys.argv[1:5]
    runtime = sys.argv[5] if len(sys.argv) > 5 else ""
    c = Console(sock)
    result = {}
    started = time.time()
    # Log in; the first user may still be being set up (userconfig, cloud-init): retry.
    # getty may also start over while the boot goes on (a daemon-reload): then the login
    # prompt comes again instead of the password's.
    # "Last login: …" (after a reboot, the motd's) is no login prompt.
    c.send("\n")
    c.expect(LOGIN, BOOT_TIMEOUT)
    asked = False
    for attempt in range(20):
        c.send(user + "\n")
        m = c.expect(rf"(Password: |{LOGIN})", STEP_TIMEOUT)
        if m.group(1) == "login: ":
            continue
        asked = True
        c.send(password + "\n")
        m = c.expect(rf"(Login incorrect|{LOGIN}|@[^ ]*:~\$ )", STEP_TIMEOUT)
        if m.group(1).startswith("@"):
            break
        if m.group(1) == "Login incorrect":
            c.expect(LOGIN, STEP_TIMEOUT)
        time.sleep(3)
    else:
        if not asked:
            raise SystemExit("console.py: login never asked for a password (getty started "
                             "over after each user name: is /bin/login there?)")
        raise SystemExit("console.py: the provisioned user's password never worked")
    result["login_seconds"] = round(time.time() - started)
    result["login_attempts"] = attempt + 1
    c.send(f"PW='{password}'; export LC_ALL=C SYSTEMD_COLORS=0; S() {{ echo \"$PW\" | sudo -S -p '' \"$@\"; }}\n")
    result["runtime"] = runtime
    for probe in PROBES + RUNTIME_PROBES.get(runtime, []):
        key, cmd, timeout = (probe + (STEP_TIMEOUT,))[:3]
        t0 = time.time()
        c.send(f"echo \"R\"\"ESULT {key}=$({{ {cmd}; }} | tr '\\n' '|')\"\n")
        m = c.expect(rf"RESULT {key}=(.*)\n", timeout)
        result[key] = m.group(1).rstrip("|")
        result.setdefault("probe_seconds", {})[key] = round(time.time() - t0, 1)
    c.send("echo \"$PW\" | sudo -S -p '' systemctl poweroff\n")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
