# ubus API, boot tracing and doctor: their tests run under `cargo test` (tests/rpcd.rs,
# tests/doctor.rs with the stand-in `ubus` command, tests/trace_lab.rs in the netboot lab).
# One extra target, not part of `make test`:
#   make bench-status  `rpinet call status` with 100 nodes and a full event log

.PHONY: bench-status
bench-status:
	bench/status.sh
