#!/usr/bin/env bash
# Installs the external tools the tests use. Each is optional: a test whose tool is missing
# prints SKIPPED with the reason instead of passing silently.
#   - the helm shim in ../shared/tools/helm (real Helm engine, no cluster): renders the sample chart
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

exit $status
