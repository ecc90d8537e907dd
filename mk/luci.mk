# luci-app-rpinet: JS lint, the views' pure logic and SHA-256-crypt in node, the package files, the translation
# template (po/templates/rpinet.pot must hold every _() string: `node tests/i18n.js --write`
# regenerates it), and the five views and the status-page widget in headless Chromium
# against the LuCI stand-in (luci-app-rpinet/tests/).
# Installs what it needs itself: the npm packages pinned by tests/package-lock.json, and
# Debian's chromium when /usr/bin/chromium is missing. Screenshots go to test-output/luci/.

LUCI_APP := luci-app-rpinet
LUCI_TESTS := $(LUCI_APP)/tests
CHROMIUM ?= /usr/bin/chromium

.PHONY: test-luci luci-setup bench-luci
TEST_TARGETS += test-luci

luci-setup:
	@command -v node >/dev/null || scripts/apt-install.sh test-luci nodejs npm
	@[ -x $(CHROMIUM) ] || scripts/apt-install.sh test-luci chromium
	@[ -d $(LUCI_TESTS)/node_modules/playwright-core ] && [ -d $(LUCI_TESTS)/node_modules/eslint ] || \
		(cd $(LUCI_TESTS) && npm ci --no-audit --no-fund --loglevel=error)

test-luci: luci-setup
	cd $(LUCI_APP) && tests/node_modules/.bin/eslint --max-warnings 0 -c tests/eslint.config.js htdocs tests
	cd $(LUCI_TESTS) && node --test logic.test.js crypt.test.js package-files.test.js i18n.test.js
	cd $(LUCI_TESTS) && CHROMIUM=$(CHROMIUM) node --test --test-concurrency=1 browser.test.js
	@echo "test-luci: screenshots in test-output/luci/"

# Overview (paged against every node at once) and Nodes with 200 and 1,000 nodes (bench/luci.sh).
bench-luci: luci-setup
	bench/luci.sh
