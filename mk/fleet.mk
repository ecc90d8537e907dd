# The fleet: images from the network, image rolls, SSH keys, the Ansible
# inventory. The tests are cargo tests (tests/fleet/), so nothing is added to TEST_TARGETS.
#
#   make bench-fleet   bench/fleet.sh: import from a local HTTP server vs from the file

.PHONY: bench-fleet
bench-fleet:
	bench/fleet.sh
