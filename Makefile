# The two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The real node (containerd, runc, CNI plugins, iptables, a registry) and the image build.
NODE_PACKAGES := containerd runc containernetworking-plugins iptables docker-registry
IMAGE_PACKAGES := mmdebstrap buildah
APT_PACKAGES := prometheus iproute2 redis-server $(NODE_PACKAGES) $(IMAGE_PACKAGES)
PYTEST_ARGS ?=

.PHONY: help deps system-packages python-deps node-deps binaries images prepare test test-unit test-e2e lint demo bench clean chart-files

help:
	@echo "make demo   - the main job: a local cluster with a real node, the charts, Traefik, two rollouts"
	@echo "make test   - install what is missing, then run the whole suite"
	@echo "make test-unit | test-e2e | lint | bench | binaries | images | clean"

deps: system-packages python-deps node-deps binaries

# Debian packages: Prometheus (the real server the analysis queries), iproute2 (`ip netns`: the
# pod networks and the real node's network), Redis (the job store the MCP v2 replicas share),
# the real node's container stack and the image build.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==25.3
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

python-deps: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

node-deps: $(if $(wildcard package.json),node_modules/.package-lock.json)

# Kubernetes, etcd, kwok, helm, CoreDNS and Prometheus built by one `go build` of devcluster/go
# (shared dependencies compile once), cached by version and source hash outside the clone.
binaries: python-deps
	$(PY) -m devcluster build

# The three images of images/Dockerfile, built here without a registry (devcluster/images.py),
# and the registry storage the real node pulls them from; unchanged inputs rebuild nothing.
# It needs none of the Go binaries (the pause binary is C, built by the step itself).
images: system-packages python-deps
	$(PY) -m devcluster images

# mypy checks what pyproject's [tool.mypy] names (strict on the rollout core).
lint: python-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

# Everything `test` needs, at once: on a fresh machine the Go build keeps both cores busy for
# many minutes while the image build mostly waits on downloads and disks, so the two overlap.
# Their progress lines are prefixed by what they build, so the interleaved output stays legible.
prepare:
	@$(MAKE) --no-print-directory -j3 deps images lint

# pytest's exit 5 (no tests collected) is a failure here, and says so.
test: prepare
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; fi; exit $$rc

# Pure logic only: no servers, no cluster (seconds).
test-unit: python-deps node-deps
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# The cluster tests against a real cluster of yours instead of the local control plane.
test-e2e: deps
	@test -n "$$KUBECONFIG" || { echo "set KUBECONFIG to the cluster to test against"; exit 2; }
	CODEMODE_EXISTING_CLUSTER=1 $(PY) -m pytest -m cluster $(PYTEST_ARGS)

# The staging stack (a real node running the project's images, Traefik) and two rollouts.
demo:
	@$(MAKE) --no-print-directory -j3 deps images
	$(PY) -m demo

# Speed, memory and decision-quality goals; the figures go to docs/benchmarks.md (not asserted).
BENCHMARKS := bench_analysis bench_search bench_sandbox bench_mcp bench_sre bench_operator bench_gateway
bench: deps
	@for b in $(BENCHMARKS); do echo "== $$b"; $(PY) -m benchmarks.$$b || exit 1; done

# The charts' copies of files whose single source is elsewhere (Helm packages no symlinks out).
chart-files:
	cp crds/*.yaml charts/codemode-operator/crds/
	cp mcp_server/sample_backend/openapi.json charts/codemode-mcp/files/openapi.json

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
