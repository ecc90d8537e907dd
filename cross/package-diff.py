#!/usr/bin/env python3
"""Compare every built package with its one definition, the feed Makefile.

    cross/package-diff.py DIST [LUCI_APP_DIR]

For each .ipk and .apk in DIST, the package's feed Makefile (openwrt/rpinet/Makefile,
luci-app-rpinet/Makefile) is evaluated afresh by cross/stage.sh, and the two are written out
as one manifest each: every file with its mode and SHA-256, the dependencies, conflicts,
conffiles, install scripts, description, license and maintainer. Any line that differs is
printed as a unified diff and the exit status is 1. The router binary is the one inside the
package (what it was built from is checked by cross/test-packages.sh); everything else comes
from the definition.
"""

import difflib
import hashlib
import io
import os
import stat
import subprocess
import sys
import tarfile
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "cross"))
import mkapk  # noqa: E402

# What a package must agree on. Installed-Size is the packer's own count; Source and
# SourceName are opkg bookkeeping with no apk counterpart.
FIELDS = ("Package", "Version", "Architecture", "Depends", "Conflicts", "License", "Section",
          "Maintainer", "URL", "Description")


def manifest(meta, files, conffiles, scripts):
    def value(k):
        v = meta.get(k, "")
        return ", ".join(sorted(x.strip() for x in v.split(",") if x.strip())) if k in ("Depends", "Conflicts") else v
    out = ["%s: %s" % (k, value(k)) for k in FIELDS]
    out += ["conffile %s" % c for c in sorted(conffiles)]
    for name in sorted(scripts):
        out += ["script %s: %s" % (name, line) for line in scripts[name].rstrip("\n").split("\n")]
    out += ["%o %s %s" % (mode, path, digest) for path, (mode, digest) in sorted(files.items())]
    return out


def listing(members):
    """{path: (mode, sha256 or "dir" or "-> target")} from (path, mode, kind, data) tuples."""
    files = {}
    for path, mode, kind, data in members:
        path = path.lstrip("./")
        if not path:
            continue
        if kind == "dir":
            files[path + "/"] = (mode, "dir")
        elif kind == "link":
            files[path] = (mode, "-> " + data)
        else:
            files[path] = (mode, hashlib.sha256(data).hexdigest())
    return files


def from_stage(stage):
    """The definition, as cross/stage.sh laid it out."""
    c = os.path.join(stage, "CONTROL")
    meta = mkapk.read_control(os.path.join(c, "control"))
    members = []
    for cur, dirs, names in os.walk(stage):
        if os.path.abspath(cur) == os.path.abspath(c):
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if os.path.join(cur, d) != c]
        for n in dirs + names:
            p = os.path.join(cur, n)
            rel = os.path.relpath(p, stage)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode):
                members.append((rel, stat.S_IMODE(st.st_mode), "dir", None))
            elif stat.S_ISLNK(st.st_mode):
                members.append((rel, 0o777, "link", os.readlink(p)))
            else:
                members.append((rel, stat.S_IMODE(st.st_mode), "file", open(p, "rb").read()))
    conffiles = open(os.path.join(c, "conffiles")).read().split() if os.path.exists(os.path.join(c, "conffiles")) else []
    scripts = {n: open(os.path.join(c, n)).read() for n in ("postinst-pkg", "prerm-pkg") if os.path.exists(os.path.join(c, n))}
    return meta, listing(members), conffiles, scripts


def from_ipk(path):
    outer = tarfile.open(path, "r:gz")
    def inner(name):
        return tarfile.open(fileobj=io.BytesIO(outer.extractfile(name).read()), mode="r:gz")
    control = inner("./control.tar.gz")
    text = {m.name.lstrip("./"): control.extractfile(m).read().decode() for m in control if m.isfile()}
    tmp = tempfile.NamedTemporaryFile("w", delete=False)
    tmp.write(text["control"])
    tmp.close()
    meta = mkapk.read_control(tmp.name)
    os.unlink(tmp.name)
    members = []
    for m in inner("./data.tar.gz"):
        kind = "dir" if m.isdir() else "link" if m.issym() else "file"
        data = m.linkname if m.issym() else None
        if m.isfile():
            data = inner("./data.tar.gz").extractfile(m.name).read()
        members.append((m.name, 0o777 if m.issym() else m.mode, kind, data))
    scripts = {n: text[n] for n in ("postinst-pkg", "prerm-pkg") if n in text}
    return meta, listing(members), text.get("conffiles", "").split(), scripts


def from_apk(path, definition_meta):
    info, files, scripts, data = mkapk.read(path)
    depends = [d for d in info["depends"] if not d.startswith("!")]
    conflicts = [d[1:] for d in info["depends"] if d.startswith("!")]
    # apk keeps one description line and its own version and arch spelling: map them back.
    version = info["version"].replace("-r", "-")
    meta = {
        "Package": info["name"], "Version": version,
        "Architecture": "all" if info["arch"] == "noarch" else info["arch"],
        "Depends": ", ".join(["libc"] + sorted(d for d in depends if d != "libc")),
        "Conflicts": ", ".join(sorted(conflicts)),
        "License": info["license"], "Maintainer": info["maintainer"], "URL": info["url"],
        "Section": definition_meta.get("Section", ""),
        "Description": info["description"],
    }
    blocks = {}
    for p, f, content in data:
        blocks[(p, f)] = content
    members, pi = [], 0
    apk_meta = "lib/apk/packages/%s." % info["name"]
    conffiles, fi = [], 0
    for d, n, mode, size, h in files:
        if n is None:
            pi += 1
            fi = 0
            if d:
                members.append((d, mode, "dir", None))
            continue
        fi += 1
        p = os.path.join(d, n)
        if p.startswith(apk_meta):
            if p.endswith(".conffiles"):
                conffiles = blocks.get((pi, fi), b"").decode().split()
            continue
        members.append((p, mode, "file", blocks.get((pi, fi), b"")))
    listed = listing(members)
    # apk lists directories it only needs for its own bookkeeping (lib/apk/packages).
    for extra in ("lib/", "lib/apk/", "lib/apk/packages/"):
        listed.pop(extra, None)
    # The package's own scripts are the tail of apk's post-install / pre-deinstall.
    own = {}
    for name, apk_name, after in (("postinst-pkg", "post-install", "\ndefault_postinst\n"),
                                  ("prerm-pkg", "pre-deinstall", "\ndefault_prerm\n")):
        tail = scripts.get(apk_name, "").split(after, 1)
        if len(tail) == 2 and tail[1]:
            own[name] = tail[1]
    return meta, listed, conffiles, own


def package_binary(path):
    """The bytes of usr/sbin/rpinet in an .ipk or .apk."""
    if path.endswith(".ipk"):
        outer = tarfile.open(path, "r:gz")
        data = tarfile.open(fileobj=io.BytesIO(outer.extractfile("./data.tar.gz").read()), mode="r:gz")
        return data.extractfile("./usr/sbin/rpinet").read()
    _, files, _, blocks = mkapk.read(path)
    pi = fi = 0
    for d, n, _, _, _ in files:
        if n is None:
            pi, fi = pi + 1, 0
            continue
        fi += 1
        if (d, n) == ("usr/sbin", "rpinet"):
            return next(c for p, f, c in blocks if (p, f) == (pi, fi))
    return b""


LUCI_APP = os.path.join(TOP, "luci-app-rpinet")


def definition(pkg, arch, binary_from):
    """Evaluate the package's Makefile as cross/stage.sh does; returns the stage of pkg."""
    tmp = tempfile.mkdtemp()
    if pkg == "rpinet":
        bin_path = os.path.join(tmp, "rpinet.bin")
        with open(bin_path, "wb") as f:
            f.write(binary_from)
        args = ["rpinet", arch, bin_path]
    else:
        args = ["luci-app-rpinet", "all", LUCI_APP]
    subprocess.run([os.path.join(TOP, "cross", "stage.sh")] + args + [os.path.join(tmp, "stage")],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(tmp, "stage", pkg)


def main(dist):
    packages = []
    for cur, _, names in os.walk(dist):
        packages += [os.path.join(cur, n) for n in names if n.endswith((".ipk", ".apk"))]
    differ = 0
    for path in sorted(packages):
        if path.endswith(".ipk"):
            got = from_ipk(path)
            name, arch = got[0]["Package"], got[0]["Architecture"]
        else:
            info = mkapk.read(path)[0]
            name, arch = info["name"], "all" if info["arch"] == "noarch" else info["arch"]
        binary = package_binary(path) if name == "rpinet" else b""
        want = from_stage(definition(name, arch, binary))
        if path.endswith(".apk"):
            got = from_apk(path, want[0])
            # apk keeps the description's first line only.
            want = ({**want[0], "Description": want[0].get("Description", "").split("\n")[0]},) + want[1:]
        a, b = manifest(*want), manifest(*got)
        diff = list(difflib.unified_diff(a, b, "definition", os.path.relpath(path, dist), lineterm=""))
        if diff:
            differ += 1
            print("\n".join(diff))
    print("package-diff: %d packages compared with their definition, %d differ" % (len(packages), differ))
    return 1 if differ or not packages else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        print("usage: package-diff.py DIST [LUCI_APP_DIR]", file=sys.stderr)
        sys.exit(2)
    if len(sys.argv) == 3:
        LUCI_APP = os.path.abspath(sys.argv[2])
    sys.exit(main(sys.argv[1]))
