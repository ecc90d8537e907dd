# The UCI reader and writer against real libuci (src/config/uci/parity.rs).
#
#   make test-uci-parity   the long run: 100,000 generated files (make test runs 2,000)
#
# UCI_PARITY_CASES sets the count.

UCI_PARITY_CASES ?= 100000

.PHONY: test-uci-parity
test-uci-parity:
	UCI_PARITY_CASES=$(UCI_PARITY_CASES) $(CARGO) test --locked --bin rpinet uci::parity -- --nocapture
