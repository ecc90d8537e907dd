# Image import and provisioning. The tests are cargo tests
# (tests/image_*.rs), so nothing is added to TEST_TARGETS.
#
#   make fuzz          run every fuzz target for FUZZ_SECONDS (cargo-fuzz, nightly);
#                      a crash is kept in fuzz/regressions/<target>/, which the
#                      cargo tests replay
#   make bench-image   bench/image.sh: import + provision vs the manual pipeline
#   make bench-shared  bench/shared.sh: shared roots vs copies (provision time and SSD use at
#                      1, 20, 100 nodes; import + provision vs xz; cold reads of 20 boots)

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := partition ext4 fat edits

.PHONY: fuzz bench-image bench-shared
fuzz:
	@command -v cargo-fuzz >/dev/null && rustup toolchain list | grep -q '^nightly' \
	  || { echo "fuzz: needs cargo-fuzz and a nightly toolchain" >&2; exit 1; }
	fuzz/mkseeds.sh
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  cargo +nightly fuzz run -O $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 \
	  || { mkdir -p regressions/$$t; cp artifacts/$$t/* regressions/$$t/ 2>/dev/null; \
	       echo "fuzz: $$t failed; the input is kept in fuzz/regressions/$$t" >&2; exit 1; }; \
	done
	# rpinet-xz's own target; its crashes are kept beside the others, which the cargo tests
	# replay as .img.xz imports.
	cd crates/rpinet-xz/fuzz && mkdir -p corpus/xz && \
	  cargo +nightly fuzz run -O xz corpus/xz ../../../fuzz/seeds/xz -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 \
	  || { mkdir -p ../../../fuzz/regressions/xz; cp artifacts/xz/* ../../../fuzz/regressions/xz/ 2>/dev/null; \
	       echo "fuzz: xz failed; the input is kept in fuzz/regressions/xz" >&2; exit 1; }

bench-image:
	bench/image.sh

bench-shared:
	bench/shared.sh
