# Reliability under real use: kill -9 at random moments of every command that
# changes state, and many writers at once. `make test` runs a few of each (tests/crash.rs,
# tests/concurrency.rs under cargo test); this target runs the full counts (100 kills a command, 20 trials) and
# prints the tables.
#
#   make test-crash    100 kill -9 moments per command, 20 trials of 40 parallel writers

.PHONY: test-crash
test-crash:
	RPINET_CRASH_RUNS=100 $(CARGO) test --locked --release --test crash -- --nocapture --test-threads 1 2>&1 | grep -E '^crash:|test result'
	RPINET_TRIALS=20 $(CARGO) test --locked --release --test concurrency -- --nocapture 2>&1 | grep -E '^parallel writers|test result'
