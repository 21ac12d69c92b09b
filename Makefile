# jaas.firewall — developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
BIN       := $(CURDIR)/$(VENV)/bin
COLL_LINK := .collections/ansible_collections/jaas/firewall
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help setup venv link unit pytest sanity molecule test harness images demo clean golden molecule-ufw molecule-firewalld bench-ufw bench-firewalld molecule-squid

help: ## list targets
	@grep -E '^[a-z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.stamp: requirements.txt requirements-test.txt
	python3 -m venv $(VENV)
	@# pip warns once per package about missing local index folders on these machines: hide that noise
	@# pip compiles every module up front, on purpose: with PYTHONDONTWRITEBYTECODE set (as on the
	@# CI machines) Python caches nothing later, and --no-compile made every process compile
	@# what it imports (CI 699 -> 819 s, although the install itself was 14 s shorter)
	$(BIN)/pip install -q -r requirements-test.txt 2>&1 | grep -v 'is ignored: it is neither' ; exit $${PIPESTATUS[0]}
	touch $@

venv: $(VENV)/.stamp ## create the virtualenv with pinned tools

link: ## put this checkout on the collections path as jaas.firewall
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn ../../.. $(COLL_LINK)

setup: venv link ## venv + collection link: after this, FQCNs work from the repo root

unit: setup ## fast pytest suites: model, plugins, contracts (no containers, no build)
	$(BIN)/pytest -q tests/unit tests/integration

pytest: setup ## every pytest suite without containers: unit, contract, packaging, lint
	$(BIN)/pytest -q --ignore=tests/reliability

sanity: setup ## ansible-test sanity (offline) on the built collection, as `make pytest` runs it
	$(BIN)/pytest -q tests/packaging/test_galaxy.py -k ansible_test_sanity

# Each Molecule scenario (extensions/molecule/<name>, where Molecule looks in a collection) runs
# exactly once; containers come from the cached images. Not here, on purpose: `default` (the
# harness smoke test, make molecule-harness) and `windows` (needs your own Windows host).
# Longest first: `make test` starts them in this order.
MOLECULE_SCENARIOS := gateway domains firewalld ufw nftables squid
MOLECULE_JOBS ?= 2

# The container suites are independent (own networks: Molecule 198.18.0-8.0/24, reliability
# 198.18.40/52-59 and --network none; own container names), so TEST_JOBS of them run at a
# time, the longest first: the gateway scenario, the two reliability halves, then the other
# scenarios. They spend much of their time waiting (timeouts, DNS TTLs, confirm-or-revert
# deadlines), so three fit on two cores. The pytest suites (no containers, CPU-bound) run
# beside all of that from the start, while the images build and in the container suites'
# waits; their output is printed in one piece when the rest has ended. Each container suite's
# output is printed in one piece when it ends. TEST_JOBS=1 and TEST_PYTEST_APART=1: one after
# the other.
TEST_JOBS ?= 3
TEST_PYTEST_APART ?=
# Each container suite's last line: how long it took and when it ended (make test runs them
# side by side, so the order of those lines is the order they finished).
SUITE_START = start=$$(date +%s);
SUITE_END = rc=$$?; echo "[$@] $$(( $$(date +%s) - start )) s, rc=$$rc, ended $$(date +%T)"; exit $$rc

test: setup ## everything CI runs (README's test command)
	@start=$$(date +%s); \
	  if [ -n "$(TEST_PYTEST_APART)" ]; then \
	    $(MAKE) --no-print-directory pytest; p=$$?; \
	  else \
	    $(MAKE) --no-print-directory pytest > .test-pytest.log 2>&1 & pytest_pid=$$!; \
	  fi; \
	  $(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target molecule-gateway reliability-1 reliability-2 molecule; c=$$?; \
	  if [ -z "$(TEST_PYTEST_APART)" ]; then \
	    wait $$pytest_pid; p=$$?; \
	    echo "===== make pytest (ran beside the container suites)"; cat .test-pytest.log; \
	  fi; \
	  echo "make test: pytest rc=$$p, container suites rc=$$c, $$(( $$(date +%s) - start )) s"; \
	  test $$p -eq 0 -a $$c -eq 0

# The inner loop: unit + integration tests, ansible-test sanity and one Molecule scenario
# (CHECK_SCENARIO), the unit tests and sanity running while the scenario's containers start.
# CI still runs the full `make test`.
CHECK_SCENARIO ?= ufw

.PHONY: check
check: setup images ## inner loop: unit tests, sanity and one scenario (CHECK_SCENARIO=ufw) at once
	@set -o pipefail; start=$$(date +%s); \
	  ( $(BIN)/pytest -q -p no:cacheprovider tests/unit tests/integration \
	      && $(BIN)/pytest -q -p no:cacheprovider tests/packaging/test_galaxy.py -k ansible_test_sanity ) \
	      > .check-pytest.log 2>&1 & pytest_pid=$$!; \
	  $(MAKE) --no-print-directory molecule-$(CHECK_SCENARIO) > .check-molecule.log 2>&1; m=$$?; \
	  wait $$pytest_pid; p=$$?; \
	  tail -n 3 .check-pytest.log; tail -n 3 .check-molecule.log; \
	  echo "make check: pytest rc=$$p, molecule-$(CHECK_SCENARIO) rc=$$m, $$(( $$(date +%s) - start )) s"; \
	  test $$p -eq 0 -a $$m -eq 0

molecule: $(addprefix molecule-,$(MOLECULE_SCENARIOS)) ## every Molecule scenario (MOLECULE_JOBS at a time with make -j)

clean: ## remove tool droppings (build/, tests/output/, importer_result.json, *.actual, caches); keeps .venv and images
	rm -rf build tests/output .pytest_cache importer_result.json changelogs/.plugin-cache.yaml
	rm -f tests/golden/*.actual
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	@echo "make test: all suites passed"

golden: setup ## regenerate tests/golden/* (Windows renderer, nftables script); review `git diff tests/golden` after
	JAAS_UPDATE_GOLDEN=1 $(BIN)/pytest -q tests/unit/test_windows_render.py tests/unit/test_nftables_plan.py tests/unit/test_nftables_gateway.py tests/unit/test_nftables_log_drops.py
	rm -f tests/golden/*.actual

golden-nftables-live: setup images ## re-capture what real nft 1.0.6/1.1.3 print for the fixture (tests/golden/nftables_live_*.json)
	$(PY) tests/golden/nftables_capture.py

harness: ## install/start dockerd + debootstrap (tools/harness/ensure-docker.sh)
	tools/harness/ensure-docker.sh

images: harness ## build/cache the systemd test images jaas-firewall-test:{bookworm,trixie}
	tools/harness/build-images.sh

# Molecule's default scenario: the harness itself (containers, network, peer; see tools/harness/README.md).
.PHONY: molecule-harness
molecule-harness: setup images ## smoke test of the container harness: the `default` scenario (network 198.18.0.0/24)
	JAAS_HARNESS_NET=0 $(BIN)/molecule test -s default

molecule-firewalld: setup images ## firewalld role on Debian 12 + 13 (network 198.18.2.0/24)
	@$(SUITE_START) JAAS_HARNESS_NET=2 $(BIN)/molecule test -s firewalld; $(SUITE_END)

bench-firewalld: setup images ## firewalld role vs a per-rule loop, 10x catalog (bench/firewalld_bench.py)
	$(PY) bench/firewalld_bench.py

molecule-nftables: setup images ## nftables role on Debian 12 + 13 (network 198.18.3.0/24)
	@$(SUITE_START) JAAS_HARNESS_NET=3 $(BIN)/molecule test -s nftables; $(SUITE_END)

bench-nftables: setup images ## nftables role next to the ufw and firewalld roles, 10x catalog (bench/nftables_bench.py)
	$(PY) bench/nftables_bench.py

molecule-ufw: setup images ## ufw role on Debian 12 + 13 (network 198.18.1.0/24)
	@$(SUITE_START) JAAS_HARNESS_NET=1 $(BIN)/molecule test -s ufw; $(SUITE_END)

molecule-squid: setup images ## squid role on Debian 12 + 13 with real Squid (network 198.18.5.0/24)
	@$(SUITE_START) JAAS_HARNESS_NET=5 $(BIN)/molecule test -s squid; $(SUITE_END)

.PHONY: molecule-domains
molecule-domains: setup images ## jaas_firewall_domains: local resolver + timed sets, real DNS answers and packets (network 198.18.8.0/24)
	@$(SUITE_START) JAAS_HARNESS_NET=8 $(BIN)/molecule test -s domains; rc=$$?; \
	  tools/harness/bridge_accept.sh remove jaas-molecule-domains; (exit $$rc); $(SUITE_END)

# Gateway mode: ufw, firewalld (12 + 13) and nftables gateways between a LAN and a WAN network.
# The DOCKER-USER accepts it adds are removed by its destroy step, and here again whatever
# became of molecule (a crash skips destroy).
.PHONY: molecule-gateway
molecule-gateway: setup images ## gateway mode: packets routed through ufw, firewalld and nftables gateways (networks 198.18.6.0/24 LAN, 198.18.7.0/24 WAN)
	@$(SUITE_START) JAAS_HARNESS_NET=6 $(BIN)/molecule test -s gateway; rc=$$?; \
	  tools/harness/bridge_accept.sh remove jaas-molecule-gateway; (exit $$rc); $(SUITE_END)

bench-ufw: setup images ## ufw role vs a community.general.ufw loop, full catalog (bench/ufw_bench.py)
	$(PY) bench/ufw_bench.py

demo: setup images ## run allow_jaas.yml against a throwaway Debian container and print the rules
	tools/demo.sh

# The reliability suite in two halves of about the same length, so that `make test` can run
# them side by side (each in its own pytest process: own container names, own fleet, own
# networks). Half 1: the modules named here (the shared container fleet of conftest.py and
# the playbook tests); half 2: every other module, so a new one is never left out.
RELIABILITY_1 := test_airgapped test_bad_input test_faults test_injection test_nftables \
	test_playbooks
RELIABILITY_1_FILES := $(addprefix tests/reliability/,$(addsuffix .py,$(RELIABILITY_1)))

.PHONY: reliability reliability-1 reliability-2 bench-scale bench-floor
reliability: reliability-1 reliability-2 ## reliability suite: faults, bad input, injection on real containers (tests/reliability; both halves, side by side with make -j2)

reliability-1: setup images ## reliability suite, half 1: the fleet modules, playbooks
	@$(SUITE_START) JAAS_REQUIRE_DOCKER=1 $(BIN)/pytest -q --durations=10 $(RELIABILITY_1_FILES); $(SUITE_END)

reliability-2: setup images ## reliability suite, half 2: SSH, drop reports, resolver, rollback holes, verify (every module not in half 1)
	@$(SUITE_START) JAAS_REQUIRE_DOCKER=1 $(BIN)/pytest -q --durations=10 tests/reliability \
	  $(addprefix --ignore=,$(RELIABILITY_1_FILES)); $(SUITE_END)

bench-payload: setup ## what each module ships to a host (AnsiballZ payload; other backends' code in it)
	$(PY) bench/payload_bench.py

bench-floor: setup images ## a role on converged hosts next to Ansible's floor (facts + ping), 1 and 20 hosts (bench/floor_bench.py; options in BENCH_ARGS)
	$(PY) bench/floor_bench.py $(BENCH_ARGS)

bench-scale: setup images ## ufw role on 1/5/20 containers + 10x catalog per backend (bench/scale_bench.py)
	$(PY) bench/scale_bench.py

.PHONY: bench-host-profile
BENCH_ROLE ?= ufw
BENCH_ARGS ?=
bench-host-profile: setup images ## where a module's time goes on the host: converged or (BENCH_ARGS=--first) first apply, BENCH_ROLE=ufw (bench/host_profile.py)
	$(PY) bench/host_profile.py $(BENCH_ROLE) $(BENCH_ARGS)

.PHONY: bench-ssh ee
bench-ssh: setup images ## a role over real SSH on 1/10/50 hosts, forks=50, next to Ansible's floor (bench/ssh_scale_bench.py; options in BENCH_ARGS)
	$(PY) bench/ssh_scale_bench.py $(BENCH_ARGS)

ee: setup harness ## build the execution environment offline (tools/ee/build.sh), run allow_jaas.yml in it with ansible-runner (tools/ee/run.py)
	tools/ee/build.sh
	$(PY) tools/ee/run.py

.PHONY: molecule-nftables bench-nftables golden-nftables-live
