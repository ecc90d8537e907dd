#!/usr/bin/env python3
"""Pack a staged package tree into an apk-tools v3 package (OpenWrt 25.12).

    cross/mkapk.py STAGE OUTDIR     write OUTDIR/<name>-<version>.apk, print its path
    cross/mkapk.py --dump FILE.apk  print what a package holds (used by the tests)

STAGE is the tree cross/stage.sh lays out: the files as installed, plus
CONTROL/ (control, conffiles, postinst-pkg, prerm-pkg).

Why a writer of our own (it needs a reason to stay): the only tool that packs
apk v3 is apk-tools 3's `apk mkpkg`, and it cannot be had on the machines that
build rpinet. Debian 12 has no apk-tools package at all (`apt-cache search
apk-tools` finds nothing, checked 2026-11-30); crates.io, PyPI and npm have no
writer of the v3 (ADB) format; OpenWrt's SDK, which builds apk-tools, is not
reachable from them either. Drop this file for `apk mkpkg` once one of those
offers it. So this writes the format itself, following apk-tools'
documentation (doc/apk-v3.5) and what `apk mkpkg` emits:

* The file is "ADBd" and a raw deflate stream of: the header ("ADB." magic,
  schema "pckg"), one ADB block holding the package database, then one DATA
  block per non-empty regular file, in the order of the paths/files arrays.
* A block is a little-endian u32 (type << 30 | size including the u32),
  padded with zeros to 8 bytes. DATA blocks start with (path_idx, file_idx).
* The database starts with an 8-byte header (versions, root value); every
  value is a u32 whose top 4 bits give its type and the low 28 a number or an
  offset: blobs are length-prefixed (u8/u16/u32, aligned to the prefix),
  objects and arrays are u32 vectors whose first slot is their slot count.
* The package is unsigned: `apk add --allow-untrusted`.

What OpenWrt's package-pack.mk does for apk is done here too: the opkg-style
install scripts become post-install / post-upgrade / pre-deinstall, and the
file list and conffiles go to /lib/apk/packages/<name>.{list,conffiles,
conffiles_static}. The same inputs give the same bytes (mtimes are
SOURCE_DATE_EPOCH).
"""

import hashlib
import os
import stat
import struct
import sys
import zlib

SCHEMA_PACKAGE = 0x676B6370  # "pckg"
MAGIC = 0x2E424441  # "ADB."
BLOCK_ADB, BLOCK_DATA = 0, 2

T_INT, T_INT32, T_INT64 = 0x10000000, 0x20000000, 0x30000000
T_BLOB8, T_BLOB16, T_BLOB32 = 0x80000000, 0x90000000, 0xA0000000
T_ARRAY, T_OBJECT = 0xD0000000, 0xE0000000
NULL = 0

# Field numbers (apk-tools src/apk_adb.h).
PI_NAME, PI_VERSION, PI_HASHES, PI_DESCRIPTION, PI_ARCH, PI_LICENSE = 1, 2, 3, 4, 5, 6
PI_ORIGIN, PI_MAINTAINER, PI_URL, PI_INSTALLED_SIZE, PI_DEPENDS = 7, 8, 9, 12, 15
PKG_INFO, PKG_PATHS, PKG_SCRIPTS = 1, 2, 3
SCRIPT_POSTINST, SCRIPT_PREDEINST, SCRIPT_POSTUPGRADE = 3, 4, 7
FI_NAME, FI_ACL, FI_SIZE, FI_MTIME, FI_HASH, FI_TARGET = 1, 2, 3, 4, 5, 6
DI_NAME, DI_ACL, DI_FILES = 1, 2, 3
ACL_MODE, ACL_USER, ACL_GROUP = 1, 2, 3
DEP_NAME, DEP_MATCH = 1, 3
# apk_version.h: a dependency's match bits; `!name` (a conflict) is ANY | CONFLICT.
VERSION_DEPMASK_ANY, VERSION_CONFLICT = 1 | 2 | 4, 16


class Adb:
    """An ADB database being written: values are appended, never shared."""

    def __init__(self):
        self.buf = bytearray(8)  # compat version, version, reserved, root

    def raw(self, data, align):
        self.buf += bytes(-len(self.buf) % align)
        off = len(self.buf)
        if off > 0x0FFFFFFF:
            raise ValueError("package database over 256 MiB")
        self.buf += data
        return off

    def blob(self, data):
        n = len(data)
        if n == 0:
            return NULL
        if n <= 0xFF:
            return T_BLOB8 | self.raw(bytes([n]) + data, 1)
        if n <= 0xFFFF:
            return T_BLOB16 | self.raw(struct.pack("<H", n) + data, 2)
        return T_BLOB32 | self.raw(struct.pack("<I", n) + data, 4)

    def str(self, text):
        return self.blob(text.encode())

    def int(self, v):
        if v < 0x10000000:
            return T_INT | v
        if v < 1 << 32:
            return T_INT32 | self.raw(struct.pack("<I", v), 4)
        return T_INT64 | self.raw(struct.pack("<Q", v), 4)

    def _vector(self, kind, slots):
        while slots and slots[-1] == NULL:
            slots = slots[:-1]
        if not slots:
            return NULL
        return kind | self.raw(struct.pack("<%dI" % (len(slots) + 1), len(slots) + 1, *slots), 4)

    def obj(self, fields):
        """fields: {field number: value}; unset fields are null."""
        slots = [fields.get(i, NULL) for i in range(1, max(fields, default=0) + 1)]
        return self._vector(T_OBJECT, slots)

    def arr(self, items):
        return self._vector(T_ARRAY, list(items))

    def root(self, value):
        struct.pack_into("<I", self.buf, 4, value)


def block(kind, payload):
    size = 4 + len(payload)
    if size > 0x3FFFFFFF:
        raise ValueError("block too large")
    return struct.pack("<I", kind << 30 | size) + payload + bytes(-size % 8)


def read_control(path):
    """The control file as {field: value}; Description keeps its continuation lines."""
    fields, key = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith(" ") and key:
                fields[key] += "\n" + line[1:]
            elif ": " in line:
                key, value = line.split(": ", 1)
                fields[key] = value
    return fields


def control_list(control, field):
    """A comma-separated control field (Depends, Conflicts) as a list of names."""
    return [x.strip() for x in control.get(field, "").split(",") if x.strip()]


def apk_version(ipk_version):
    """opkg's 1.2.3-1 is apk's 1.2.3-r1."""
    upstream, _, release = ipk_version.rpartition("-")
    if not upstream or not release.isdigit():
        raise ValueError("version %r is not <version>-<integer release>" % ipk_version)
    return "%s-r%s" % (upstream, release)


def scripts(pkgname, control_dir):
    """post-install, post-upgrade and pre-deinstall as OpenWrt makes them for apk:
    the shared default_postinst / default_prerm, then the package's own part."""

    def own(name):
        p = os.path.join(control_dir, name)
        return open(p, encoding="utf-8").read() if os.path.exists(p) else ""

    head = (
        "#!/bin/sh\n"
        '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0\n'
        '. "${IPKG_INSTROOT}/lib/functions.sh"\n'
        'export root="${IPKG_INSTROOT}"\n'
        'export pkgname="%s"\n' % pkgname
    )
    post_install = head.replace("#!/bin/sh\n", '#!/bin/sh\n[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0\n')
    post_install += "add_group_and_user\ndefault_postinst\n" + own("postinst-pkg")
    post_upgrade = "#!/bin/sh\nexport PKG_UPGRADE=1\n" + post_install.split("\n", 1)[1]
    pre_deinstall = head + "default_prerm\n" + own("prerm-pkg")
    return {
        SCRIPT_POSTINST: post_install,
        SCRIPT_POSTUPGRADE: post_upgrade,
        SCRIPT_PREDEINST: pre_deinstall,
    }


def add_apk_metadata(stage, pkgname, files):
    """/lib/apk/packages/<name>.list, .conffiles, .conffiles_static (OpenWrt's
    own bookkeeping on apk: default_postinst reads the list, sysupgrade and
    apk upgrades keep the conffiles). Returns {path: bytes} to add."""
    meta = "lib/apk/packages/" + pkgname
    extra = {}
    conffiles_path = os.path.join(stage, "CONTROL", "conffiles")
    if os.path.exists(conffiles_path):
        conffiles = [line.strip() for line in open(conffiles_path, encoding="utf-8") if line.strip()]
        extra[meta + ".conffiles"] = "".join(c + "\n" for c in conffiles).encode()
        sums = ""
        for c in conffiles:
            data = files.get(c.lstrip("/"))
            if data is not None:
                sums += "%s %s\n" % (c, hashlib.sha256(data).hexdigest())
        extra[meta + ".conffiles_static"] = sums.encode()
    listed = sorted(set(files) | set(extra))
    extra[meta + ".list"] = "".join("/%s\n" % p for p in listed).encode()
    return extra


def scan(stage):
    """Walk STAGE (without CONTROL/): {dir: {name: (mode, data or link target)}},
    every directory with its own mode."""
    dirs, modes = {}, {}
    for cur, subdirs, names in os.walk(stage):
        rel = os.path.relpath(cur, stage)
        rel = "" if rel == "." else rel
        if rel == "CONTROL":
            subdirs[:] = []
            continue
        if rel == "":
            subdirs[:] = [d for d in subdirs if d != "CONTROL"]
        modes[rel] = stat.S_IMODE(os.lstat(cur).st_mode)
        entries = dirs.setdefault(rel, {})
        for name in names + [d for d in subdirs if os.path.islink(os.path.join(cur, d))]:
            p = os.path.join(cur, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                entries[name] = (stat.S_IFLNK, os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    entries[name] = (st.st_mode, f.read())
            else:
                raise ValueError("%s: only files, directories and symlinks can be packed" % p)
    return dirs, modes


def build(stage, out_dir):
    control = read_control(os.path.join(stage, "CONTROL", "control"))
    name = control["Package"]
    version = apk_version(control["Version"])
    arch = control["Architecture"]
    arch = "noarch" if arch == "all" else arch
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))

    dirs, modes = scan(stage)
    flat = {os.path.join(d, n): v[1] for d, e in dirs.items() for n, v in e.items() if not stat.S_ISLNK(v[0])}
    for path, data in add_apk_metadata(stage, name, flat).items():
        d, n = os.path.split(path)
        for i in range(len(d.split("/"))):
            modes.setdefault("/".join(d.split("/")[: i + 1]), 0o755)
            dirs.setdefault("/".join(d.split("/")[: i + 1]), {})
        dirs[d][n] = (stat.S_IFREG | 0o644, data)

    db = Adb()
    paths, data_blocks, installed = [], [], 0
    for d in sorted(dirs, key=lambda s: s.encode()):
        # Every directory is listed, the root too (name unset): apk-tools
        # 3.0.x extracts a path only under a directory node it has seen
        # (mkpkg's default --compat keeps them for that reason).
        entries = dirs[d]
        files = []
        for fname in sorted(entries, key=lambda s: s.encode()):
            mode, data = entries[fname]
            acl = db.obj({ACL_MODE: db.int(stat.S_IMODE(mode) if not stat.S_ISLNK(mode) else 0o777),
                          ACL_USER: db.str("root"), ACL_GROUP: db.str("root")})
            fields = {FI_NAME: db.str(fname), FI_ACL: acl, FI_SIZE: db.int(len(data)), FI_MTIME: db.int(epoch)}
            if stat.S_ISLNK(mode):
                fields[FI_TARGET] = db.blob(struct.pack("<H", stat.S_IFLNK) + data)
            else:
                fields[FI_HASH] = db.blob(hashlib.sha256(data).digest())
                installed += len(data)
                if data:
                    data_blocks.append((len(paths) + 1, len(files) + 1, data))
            files.append(db.obj(fields))
        acl = db.obj({ACL_MODE: db.int(modes[d]), ACL_USER: db.str("root"), ACL_GROUP: db.str("root")})
        paths.append(db.obj({DI_NAME: db.str(d), DI_ACL: acl, DI_FILES: db.arr(files)}))

    # A conflict is a dependency that matches any version of its name, negated (apk's
    # `!name`), as OpenWrt's package-pack.mk writes CONFLICTS for apk.
    depends = [db.obj({DEP_NAME: db.str(dep)}) for dep in sorted(control_list(control, "Depends"), key=str.encode)]
    depends += [db.obj({DEP_NAME: db.str(dep), DEP_MATCH: db.int(VERSION_DEPMASK_ANY | VERSION_CONFLICT)})
                for dep in sorted(control_list(control, "Conflicts"), key=str.encode)]
    uid = db.blob(bytes(20))  # the package's unique id, filled in below
    info = db.obj({
        PI_NAME: db.str(name),
        PI_VERSION: db.str(version),
        PI_HASHES: uid,
        PI_DESCRIPTION: db.str(control.get("Description", "").split("\n")[0]),
        PI_ARCH: db.str(arch),
        PI_LICENSE: db.str(control.get("License", "")),
        PI_ORIGIN: db.str(name),
        PI_MAINTAINER: db.str(control.get("Maintainer", "")),
        PI_URL: db.str(control.get("URL", "")),
        PI_INSTALLED_SIZE: db.int(max(installed, 1)),
        PI_DEPENDS: db.arr(depends),
    })
    script_vals = {k: db.str(v) for k, v in scripts(name, os.path.join(stage, "CONTROL")).items()}
    db.root(db.obj({PKG_INFO: info, PKG_PATHS: db.arr(paths), PKG_SCRIPTS: db.obj(script_vals)}))
    # As apk mkpkg: the unique id is the start of the database's SHA-256.
    uid_off = (uid & 0x0FFFFFFF) + 1
    db.buf[uid_off:uid_off + 20] = hashlib.sha256(bytes(db.buf)).digest()[:20]

    stream = struct.pack("<II", MAGIC, SCHEMA_PACKAGE) + block(BLOCK_ADB, bytes(db.buf))
    stream += b"".join(block(BLOCK_DATA, struct.pack("<II", p, f) + data) for p, f, data in data_blocks)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "%s-%s.apk" % (name, version))
    with open(out + ".tmp", "wb") as f:
        f.write(b"ADBd" + deflate.compress(stream) + deflate.flush())
    os.replace(out + ".tmp", out)
    return out


# --- reading (for --dump and the tests) -----------------------------------

class Reader:
    def __init__(self, buf):
        self.buf = buf

    def u32(self, off):
        if off + 4 > len(self.buf):
            raise ValueError("value at %d past the end" % off)
        return struct.unpack_from("<I", self.buf, off)[0]

    def value(self, v):
        kind, x = v & 0xF0000000, v & 0x0FFFFFFF
        if v == NULL:
            return None
        if kind == T_INT:
            return x
        if kind == T_INT32:
            return self.u32(x)
        if kind == T_INT64:
            return struct.unpack_from("<Q", self.buf, x)[0]
        if kind in (T_BLOB8, T_BLOB16, T_BLOB32):
            width = {T_BLOB8: 1, T_BLOB16: 2, T_BLOB32: 4}[kind]
            if x % width:
                raise ValueError("blob at %d not aligned" % x)
            n = int.from_bytes(self.buf[x:x + width], "little")
            if x + width + n > len(self.buf):
                raise ValueError("blob at %d past the end" % x)
            return bytes(self.buf[x + width:x + width + n])
        if kind in (T_OBJECT, T_ARRAY):
            if x % 4:
                raise ValueError("object at %d not aligned" % x)
            n = self.u32(x)
            return [self.u32(x + 4 * i) for i in range(1, n)]
        raise ValueError("unknown value type %#x" % kind)

    def field(self, slots, i):
        return self.value(slots[i - 1]) if slots and i <= len(slots) else None


def read(path):
    """Parse a package: (info fields, [(dir, name, mode, size, sha256)], scripts, data)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:4] != b"ADBd":
        raise ValueError("%s: not a deflate-compressed ADB file" % path)
    stream = zlib.decompress(raw[4:], -15)
    magic, schema = struct.unpack_from("<II", stream, 0)
    if magic != MAGIC or schema != SCHEMA_PACKAGE:
        raise ValueError("%s: not an apk v3 package" % path)
    blocks, off = [], 8
    while off < len(stream):
        (ts,) = struct.unpack_from("<I", stream, off)
        kind, size = ts >> 30, ts & 0x3FFFFFFF
        if size < 4 or off + size > len(stream):
            raise ValueError("%s: bad block at %d" % (path, off))
        blocks.append((kind, stream[off + 4:off + size]))
        off += size + (-size % 8)
    if not blocks or blocks[0][0] != BLOCK_ADB:
        raise ValueError("%s: first block is not the database" % path)
    r = Reader(blocks[0][1])
    pkg = r.value(r.u32(4))
    info_slots = r.field(pkg, PKG_INFO)
    s = lambda slots, i: (r.field(slots, i) or b"").decode()
    info = {
        "name": s(info_slots, PI_NAME), "version": s(info_slots, PI_VERSION),
        "arch": s(info_slots, PI_ARCH), "description": s(info_slots, PI_DESCRIPTION),
        "license": s(info_slots, PI_LICENSE), "maintainer": s(info_slots, PI_MAINTAINER),
        "installed-size": r.field(info_slots, PI_INSTALLED_SIZE),
        "depends": [("!" if (r.field(r.value(d), DEP_MATCH) or 0) & VERSION_CONFLICT else "") + s(r.value(d), DEP_NAME)
                    for d in (r.field(info_slots, PI_DEPENDS) or [])],
        "url": s(info_slots, PI_URL),
    }
    files = []
    for p in r.field(pkg, PKG_PATHS) or []:
        dslots = r.value(p)
        dname = s(dslots, DI_NAME)
        dmode = r.field(r.field(dslots, DI_ACL), ACL_MODE)
        files.append((dname, None, dmode, None, None))
        for fv in r.field(dslots, DI_FILES) or []:
            fs = r.value(fv)
            h = r.field(fs, FI_HASH)
            files.append((dname, s(fs, FI_NAME), r.field(r.field(fs, FI_ACL), ACL_MODE),
                          r.field(fs, FI_SIZE), h.hex() if h else None))
    names = {SCRIPT_POSTINST: "post-install", SCRIPT_PREDEINST: "pre-deinstall",
             SCRIPT_POSTUPGRADE: "post-upgrade"}
    sc = r.field(pkg, PKG_SCRIPTS) or []
    scripts_out = {names.get(i, str(i)): r.value(v).decode() for i, v in enumerate(sc, 1) if v != NULL}
    data = []
    for kind, payload in blocks[1:]:
        if kind != BLOCK_DATA:
            raise ValueError("%s: unexpected block type %d" % (path, kind))
        p, f = struct.unpack_from("<II", payload, 0)
        data.append((p, f, payload[8:]))
    return info, files, scripts_out, data


def dump(path):
    info, files, scripts_out, data = read(path)
    for k, v in info.items():
        print("%s: %s" % (k, " ".join(v) if isinstance(v, list) else v))
    for dname, fname, mode, size, digest in files:
        if fname is None:
            print("dir %04o /%s" % (mode, dname))
        else:
            print("file %04o %s %s /%s" % (mode, size, digest, os.path.join(dname, fname)))
    for k, v in scripts_out.items():
        print("script %s: %d bytes" % (k, len(v)))
    print("data blocks: %d" % len(data))


def main(argv):
    if len(argv) == 3 and argv[1] == "--dump":
        dump(argv[2])
    elif len(argv) == 3:
        print(build(argv[1], argv[2]))
    else:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write("mkapk: %s\n" % e)
        sys.exit(1)
