# The netboot lab: `make demo` (the netboot integration test runs under `cargo test`).

# Set up the machine, build rpinet and pisim, and netboot simulated Pis through a real
# dnsmasq in network namespaces (scripts/demo.sh; needs root).
demo: setup
	$(CARGO) build --release --locked --workspace
	scripts/demo.sh
