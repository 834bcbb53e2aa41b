# VendorPulse: `make run` serves the app with demo data and runs the dispatcher beside it (Procfile), `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTANCE := instance
HOST ?= 127.0.0.1
PORT ?= 8000
AXE_VERSION := 4.14.1
export FLASK_APP := wsgi.py
# Links in emails and the demo's sample link point at the address `make run` serves.
export BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test bench install install-dev browser nginx dovecot libreoffice poppler clean-venv

$(VENV)/.runtime-installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.runtime-installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

# A key generated once and kept in the instance folder, so restarts keep everyone signed in.
$(INSTANCE)/secret_key:
	mkdir -p $(INSTANCE)
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

run: install $(INSTANCE)/secret_key
	$(BIN)/flask init | tee $(INSTANCE)/init.log
	@test -f $(INSTANCE)/.demo-seeded || ($(BIN)/flask demo && touch $(INSTANCE)/.demo-seeded)
	@echo
	@echo "VendorPulse is starting on http://$(HOST):$(PORT)/"
	@echo "Sign in as $${ADMIN_EMAIL:-admin@example.com}; the one-time password is printed above on the first run"
	@echo "(forgotten it? $(BIN)/flask users set-password $${ADMIN_EMAIL:-admin@example.com})."
	@echo "The dispatcher (flask dispatch serve) runs beside it and sends the invitations; Ctrl-C stops both."
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=$(HOST) $(BIN)/honcho start --port $(PORT)

# Debian's Chromium for the browser tests; Playwright never downloads a browser here.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install chromium: browser tests will be skipped."; \
	  else echo "chromium is not installed and cannot be installed here: browser tests will be skipped."; fi; \
	fi

# Debian's nginx for the reverse-proxy tests (tests/test_proxy.py), installed the same way.
nginx:
	@if [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
	      || echo "Could not install nginx-light: reverse-proxy tests will be skipped."; \
	  else echo "nginx is not installed and cannot be installed here: reverse-proxy tests will be skipped."; fi; \
	fi

# Debian's dovecot for the bounce mailbox tests (tests/test_bounces.py), installed the same way.
dovecot:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null) \
	      || echo "Could not install dovecot-imapd: bounce mailbox tests will be skipped."; \
	  else echo "dovecot is not installed and cannot be installed here: bounce mailbox tests will be skipped."; fi; \
	fi

# Debian's LibreOffice Calc for the spreadsheet tests (tests/test_spreadsheets.py), installed the same way.
libreoffice:
	@if ! command -v soffice >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null) \
	      || echo "Could not install libreoffice-calc-nogui: spreadsheet tests will be skipped."; \
	  else echo "LibreOffice is not installed and cannot be installed here: spreadsheet tests will be skipped."; fi; \
	fi

# Debian's poppler-utils: pdftoppm renders every review-pack page to PNG (tests/functional/test_review_pack.py).
poppler:
	@if ! command -v pdftoppm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
	      || echo "Could not install poppler-utils: the pack's page renders will be skipped."; \
	  else echo "pdftoppm is not installed and cannot be installed here: the pack's page renders will be skipped."; fi; \
	fi

# axe-core (accessibility checks injected into pages by the browser tests), from the npm registry.
node_modules/axe-core/axe.min.js:
	@if command -v npm >/dev/null; then npm install --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION) \
	  || echo "Could not install axe-core: accessibility checks will be skipped."; \
	else echo "npm is not installed: accessibility checks will be skipped."; fi

test: install-dev browser nginx dovecot libreoffice poppler node_modules/axe-core/axe.min.js
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every benchmark, then one table of all promised figures (about 10 minutes on 2 cores).
bench: install-dev
	$(BIN)/python benchmarks/report.py

clean-venv:
	rm -rf $(VENV)
