#!/usr/bin/env python3
"""console.py SOCKET USER PASSWORD OUT.json: log in on a booted node's serial console and
record what the e2e checks need, then power the node off.

Each probe is sent as `echo "R""ESULT key=$(…)"`: the console echoes the command with the
quotes, so only the output carries RESULT. Values have their newlines turned into '|'.
"""
import json
import re
import socket
import sys
import time

BOOT_TIMEOUT = 900
STEP_TIMEOUT = 120

PROBES = [
    ("hostname", "hostname"),
    ("cmdline", "cat /proc/cmdline"),
    ("root", "findmnt -n -o FSTYPE,OPTIONS /"),
    ("boot_firmware", "findmnt -n -o SOURCE /boot/firmware"),
    ("machine_id", "cat /etc/machine-id"),
    ("sudo", "echo \"$PW\" | sudo -S -p '' id -u"),
    ("running", "timeout 180 systemctl is-system-running --wait"),
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
    ("cloud_instance", "echo \"$PW\" | sudo -S -p '' cat /var/lib/cloud/data/instance-id 2>/dev/null"),
    ("cloud_status", "cloud-init status 2>/dev/null | head -n 1"),
]


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
    c = Console(sock)
    result = {}
    started = time.time()
    # Log in; the first user may still be being set up (userconfig, cloud-init): retry.
    # getty may also start over while the boot goes on (a daemon-reload): then the login
    # prompt comes again instead of the password's.
    c.send("\n")
    c.expect(r"login: ", BOOT_TIMEOUT)
    asked = False
    for attempt in range(20):
        c.send(user + "\n")
        m = c.expect(r"(Password: |login: )", STEP_TIMEOUT)
        if m.group(1) == "login: ":
            continue
        asked = True
        c.send(password + "\n")
        m = c.expect(r"(Login incorrect|login: |@[^ ]*:~\$ )", STEP_TIMEOUT)
        if m.group(1).startswith("@"):
            break
        if m.group(1) == "Login incorrect":
            c.expect(r"login: ", STEP_TIMEOUT)
        time.sleep(3)
    else:
        if not asked:
            raise SystemExit("console.py: login never asked for a password (getty started "
                             "over after each user name: is /bin/login there?)")
        raise SystemExit("console.py: the provisioned user's password never worked")
    result["login_seconds"] = round(time.time() - started)
    result["login_attempts"] = attempt + 1
    c.send(f"PW='{password}'; export LC_ALL=C SYSTEMD_COLORS=0\n")
    for key, cmd in PROBES:
        c.send(f"echo \"R\"\"ESULT {key}=$({cmd} | tr '\\n' '|')\"\n")
        m = c.expect(rf"RESULT {key}=(.*)\n", STEP_TIMEOUT)
        result[key] = m.group(1).rstrip("|")
    c.send("echo \"$PW\" | sudo -S -p '' systemctl poweroff\n")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
