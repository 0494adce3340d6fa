#!/usr/bin/env bash
# Render (and lint) the sample chart with the helm shim, which runs the real Helm
# engine without a cluster. Usage:
#
#   scripts/render-chart.sh            # default values
#   scripts/render-chart.sh ci         # with chart/values-ci.yaml
#   scripts/render-chart.sh -- ARGS    # extra args for `helm template`, e.g. -- -s templates/migrations.yaml
#
# HELM=/path/to/helm overrides the shim (a real helm binary works too).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shim_dir="$root/../shared/tools/helm"
helm="${HELM:-$shim_dir/helm}"

if [[ -z "${HELM:-}" ]]; then
  if [[ ! -x "$helm" ]]; then
    echo "render-chart: helm shim not found at $helm (set HELM=/path/to/helm)" >&2
    exit 1
  fi
  "$shim_dir/setup" >/dev/null
fi

values=()
if [[ "${1:-}" == ci ]]; then
  values=(-f "$root/chart/values-ci.yaml")
  shift
fi
[[ "${1:-}" == -- ]] && shift

"$helm" lint "$root/chart" "${values[@]}" >&2
"$helm" template threads "$root/chart" "${values[@]}" "$@"
