# The proof on a real kernel: `make e2e` — not part of `make test` (it builds
# two Debian images once, ~minutes, cached in RPINET_E2E_CACHE, default
# /var/cache/rpinet-e2e, and boots three pairs of VMs a style: first boot, reboot, after a
# reimage; docker in bookworm's, containerd in trixie's, each running a local image). Needs
# root; KVM when /dev/kvm is usable, else qemu's TCG (much slower). `make e2e
# E2E_STYLES=bookworm` runs one style. `make e2e-server`: the same with the roots and
# volumes on an NFS server of their own (storage_server), not the router's SSD.
# `make e2e-router-nfs`: the router's side of that on a kernel with an NFS client (a VM on the
# trixie image's kernel): rpinet's mount data, import, provision and reimage onto the export,
# doctor against no_root_squash and root_squash exports (e2e/router-nfs.sh; ~8 min TCG).

E2E_STYLES ?= bookworm trixie

.PHONY: e2e e2e-server e2e-router-nfs e2e-setup
e2e-setup:
	scripts/apt-install.sh e2e mmdebstrap qemu-system-x86 nfs-ganesha nfs-ganesha-vfs \
	  rpcbind dosfstools mtools fdisk openssl openssh-client python3 e2fsprogs

e2e: setup e2e-setup
	$(CARGO) build --locked
	e2e/run.sh $(E2E_STYLES)

e2e-server: setup e2e-setup
	$(CARGO) build --locked
	E2E_STORAGE=server e2e/run.sh $(E2E_STYLES)

e2e-router-nfs: setup e2e-setup
	$(CARGO) build --release --locked
	e2e/router-nfs.sh
