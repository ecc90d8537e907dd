#!/usr/bin/env python3
"""oci.py BUSYBOX OUTDIR: the e2e's container images, made here instead of pulled (the nodes
have no internet and no registry):

  OUTDIR/busybox-rootfs.tar  a tiny root: the static BUSYBOX as /bin/busybox, a link per
                             applet (from `BUSYBOX --list-full`), the usual empty dirs;
                             what `docker import` takes
  OUTDIR/busybox-oci.tar     the same root as an OCI image archive (oci-layout, index.json,
                             blobs/sha256/: manifest, config, one gzipped layer), named
                             docker.io/rpinet-e2e/busybox:latest; what `ctr image import`
                             takes

Deterministic: the same busybox gives the same bytes (fixed times, owners and order).
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

NAME = "docker.io/rpinet-e2e/busybox:latest"
MTIME = 1700000000
DIRS = ["bin", "dev", "etc", "proc", "root", "sbin", "sys", "tmp", "usr", "usr/bin",
        "usr/sbin", "var"]


def rootfs_tar(busybox):
    applets = subprocess.run([busybox, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    if "bin/sh" not in applets:
        raise SystemExit(f"oci.py: {busybox} has no sh applet")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        def add(info, data=None):
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            t.addfile(info, None if data is None else io.BytesIO(data))

        for d in DIRS:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            add(info)
        with open(busybox, "rb") as f:
            data = f.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size = len(data)
        info.mode = 0o755
        add(info, data)
        for a in sorted(set(applets)):
            if a == "bin/busybox" or a.split("/")[0] not in ("bin", "sbin", "usr"):
                continue
            info = tarfile.TarInfo(a)
            info.type = tarfile.SYMTYPE
            info.linkname = "/bin/busybox"
            info.mode = 0o777
            add(info)
    return buf.getvalue()


def blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return f"sha256:{digest}", len(data)


def oci_tar(layer):
    blobs = {}
    gz = gzip.compress(layer, mtime=0)
    layer_digest, layer_size = blob(blobs, gz)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "rpinet e2e/oci.py"}],
    }
    config_digest, config_size = blob(blobs, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = blob(blobs, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size,
            "platform": {"architecture": "amd64", "os": "linux"},
            # the full name in both: a bare tag in ref.name would make ctr import it a
            # second time under an "import-DATE" name
            "annotations": {"io.containerd.image.name": NAME,
                            "org.opencontainers.image.ref.name": NAME},
        }],
    }
    files = [("oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()),
             ("index.json", json.dumps(index, sort_keys=True).encode())]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for d in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = MTIME
            t.addfile(info)
        for name, data in files + [(f"blobs/sha256/{d}", b) for d, b in sorted(blobs.items())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = MTIME
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    busybox, out = sys.argv[1:3]
    layer = rootfs_tar(busybox)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "busybox-rootfs.tar"), "wb") as f:
        f.write(layer)
    with open(os.path.join(out, "busybox-oci.tar"), "wb") as f:
        f.write(oci_tar(layer))


if __name__ == "__main__":
    main()
