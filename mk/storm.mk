# Boot storms: every Pi of the cluster powered on at once. Not part of `make test`
# (the trace lab in `cargo test` covers the trace with a real dnsmasq); needs root.
#   make bench-storm   N = 1, 10, 25, 50, 100 simulated Pi 4s started together, with and
#                      without initramfs8, 30 s and 5 s file timeouts, re-sending requests or
#                      not, each point twice (bench/storm.sh; STORM_* narrow the matrix)

.PHONY: bench-storm
bench-storm:
	bench/storm.sh
