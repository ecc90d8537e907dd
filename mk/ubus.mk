# ubus API, boot tracing and doctor: their tests run under `cargo test` (tests/rpcd.rs,
# tests/doctor.rs with the stand-in ubusd, tests/trace_lab.rs in the netboot lab).
# Two extra targets, not part of `make test`:
#   make fuzz-ubus     fuzz the ubus decoder for FUZZ_SECONDS (needs nightly + cargo-fuzz)
#   make bench-status  `rpinet call status` with 100 nodes and a full event log

FUZZ_SECONDS ?= 60

.PHONY: fuzz-ubus bench-status
fuzz-ubus:
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && cargo +nightly fuzz run ubus_decode --fuzz-dir . -- -max_total_time=$(FUZZ_SECONDS)

bench-status:
	bench/status.sh
