# The two commands a new user needs: `make run` and `make test`.
# Builds go to a target dir outside the clone so repeated runs (and CI) reuse them.
CARGO_TARGET_DIR ?= $(HOME)/.cache/kt-platform-target
export CARGO_TARGET_DIR
VENV := $(CURDIR)/.venv

.PHONY: run build test test-setup bench clean

## Build and start everything (gateway + services) on embedded defaults.
run: build
	$(CARGO_TARGET_DIR)/debug/platform all

build:
	cargo build -p platform --bin platform

## Install what the tests need (grpcurl, OpenLDAP), then run every test of every crate.
test: test-setup
	GRPCURL=$(VENV)/bin/grpcurl LDAP_TESTS_REQUIRED=1 cargo test --workspace --all-targets --exclude benches -- --test-threads=2

## Load and micro benchmarks on the release build (installs wrk and h2load if missing).
## Each script prints its own table; scripts/bench/ holds one per area.
bench:
	bash scripts/bench/gateway.sh
	cargo bench -p benches
	@for script in scripts/bench/*.sh; do \
	  case $$script in */gateway.sh) ;; *) echo "== $$script"; bash $$script || exit 1;; esac; \
	done

test-setup:
	bash scripts/test-setup.sh $(VENV)

clean:
	cargo clean
