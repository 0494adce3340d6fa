#!/usr/bin/env bash
# Usage: scripts/check-ignored.sh TEST_LOG [SETUP_STATUS]
# Reads the output of `cargo test` and fails if a test was ignored for a reason that
# scripts/setup-test-tools.sh did not excuse. An ignore is excused only when its reason is
# `needs <tool>...` (set by build.rs) and SETUP_STATUS (default target/test-tools/setup-status)
# has `unavailable <tool> <why>`; excused tests are named loudly.
set -euo pipefail
log=$1
status_file=${2:-target/test-tools/setup-status}

unexpected=0
excused=()
# libtest prints `test <name> ... ignored` or `test <name> ... ignored, <reason>`.
while IFS= read -r line; do
  name=${line#test }
  name=${name%% ... ignored*}
  reason=""
  case "$line" in *"... ignored, "*) reason=${line#*... ignored, } ;; esac
  tool=""
  case "$reason" in needs\ *) tool=${reason#needs }; tool=${tool%%[: ]*} ;; esac
  why=""
  if [ -n "$tool" ] && [ -f "$status_file" ]; then
    why=$(grep -m1 "^unavailable $tool " "$status_file" | cut -d' ' -f3- || true)
  fi
  if [ -n "$why" ]; then
    excused+=("$name ($reason; setup: $why)")
  else
    echo "ERROR: test $name was ignored (${reason:-no reason given}), but setup did not report that it could not install ${tool:-what it needs}" >&2
    unexpected=$((unexpected + 1))
  fi
done < <(grep -E '^test .* \.\.\. ignored' "$log" || true)

if [ ${#excused[@]} -gt 0 ]; then
  echo
  echo "!!! ${#excused[@]} test(s) SKIPPED because setup could not install what they need: !!!"
  printf '!!!   %s\n' "${excused[@]}"
fi
if [ $unexpected -ne 0 ]; then
  echo "ERROR: $unexpected test(s) ignored in CI without an excuse from scripts/setup-test-tools.sh" >&2
  exit 1
fi
