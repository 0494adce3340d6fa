#!/usr/bin/env bash
# Installs patcher for the composite action (action.yml): the release binary that matches the
# action's own ref, verified against its .sha256, kept in the runner's tool cache; only when no
# release has that ref (a branch or a commit) does it build from the action's sources with
# `cargo install --locked`. Prints the directory it installed to and appends it to $GITHUB_PATH.
#
# Environment (action.yml sets the first two from the github context):
#   PATCHER_REF          the action's ref, e.g. v0.2.0 (github.action_ref)
#   PATCHER_REPO         owner/name the release is in (github.action_repository)
#                        Both are empty for a local action (`uses: ./`): then it builds.
#   PATCHER_RELEASE_URL  base of the download URLs [default: $GITHUB_SERVER_URL/$PATCHER_REPO/releases/download]
#   PATCHER_SOURCE       sources for the cargo fallback [default: $GITHUB_ACTION_PATH]
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_PATH  as set by the runner
#   CARGO                cargo to run for the fallback [default: cargo]
# Exit 1 with an ::error:: line on a checksum mismatch, a failed download (other than "no
# such release"), or a failed build.
set -euo pipefail

fail() {
  echo "::error title=patcher install::$*" >&2
  exit 1
}

ref="${PATCHER_REF:-}"
repo="${PATCHER_REPO:-}"
base="${PATCHER_RELEASE_URL:-${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download}"
os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
temp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"

# The release workflow's targets (.github/workflows/release.yml).
exe=""
ext=tar.gz
case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-musl ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  Windows/X64 | MINGW*/x86_64 | MSYS*/x86_64) target=x86_64-pc-windows-msvc exe=.exe ext=zip ;;
  *) target="" ;;
esac

publish() {
  echo "$1"
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$1" >>"$GITHUB_PATH"; fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Prints the HTTP status; the body goes to $2. 000 when there was no answer.
fetch() {
  curl --silent --show-error --location --retry 3 --retry-connrefused \
    --output "$2" --write-out '%{http_code}' "$1" || true
}

# Ref names may hold `/` (a branch); the cache key may not.
key="${ref//\//-}"
cache="${RUNNER_TOOL_CACHE:-$temp}/patcher/${key:-none}/$arch"

if [ -n "$ref" ] && [ -x "$cache/bin/patcher$exe" ] && [ -f "$cache.complete" ]; then
  echo "patcher $ref: from the tool cache" >&2
  publish "$cache/bin"
  exit 0
fi

if [ -n "$ref" ] && [ -n "$repo" ] && [ -n "$target" ]; then
  asset="patcher-$target.$ext"
  url="$base/$ref/$asset"
  work=$(mktemp -d "$temp/patcher-install.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  code=$(fetch "$url" "$work/$asset")
  case "$code" in
    200)
      sum_code=$(fetch "$url.sha256" "$work/$asset.sha256")
      [ "$sum_code" = 200 ] || fail "$url.sha256: HTTP $sum_code (the release has the archive but not its checksum)"
      # `<hex>  <name>`, as sha256sum writes it.
      want=$(cut -d' ' -f1 <"$work/$asset.sha256" | tr -d '\r\n' | tr 'A-F' 'a-f')
      got=$(sha256_of "$work/$asset")
      if [ "$want" != "$got" ]; then
        fail "checksum mismatch for $url: expected $want (from $asset.sha256), got $got; nothing was installed"
      fi
      mkdir -p "$work/x"
      if [ "$ext" = zip ]; then
        unzip -q "$work/$asset" -d "$work/x" 2>/dev/null \
          || powershell -NoProfile -Command "Expand-Archive -LiteralPath '$work/$asset' -DestinationPath '$work/x'" \
          || fail "$asset: cannot unpack"
      else
        tar -xzf "$work/$asset" -C "$work/x" || fail "$asset: cannot unpack"
      fi
      bin=$(find "$work/x" -type f -name "patcher$exe" | head -n 1)
      [ -n "$bin" ] || fail "$asset holds no patcher$exe"
      rm -rf "$cache" "$cache.complete"
      mkdir -p "$cache/bin"
      cp "$bin" "$cache/bin/patcher$exe"
      chmod +x "$cache/bin/patcher$exe"
      touch "$cache.complete"
      echo "patcher $ref: release binary $asset (sha256 $got)" >&2
      publish "$cache/bin"
      exit 0
      ;;
    404) echo "patcher $ref: no release binary at $url; building from source" >&2 ;;
    *) fail "$url: HTTP $code (a download failure, not a missing release: not falling back to a build)" ;;
  esac
elif [ -z "$target" ]; then
  echo "patcher: no release binary for $os/$arch; building from source" >&2
else
  echo "patcher: no release ref (a local action); building from source" >&2
fi

cargo="${CARGO:-cargo}"
command -v "$cargo" >/dev/null 2>&1 \
  || fail "no release binary for ref '${ref:-?}' and cargo not found; use a release tag (e.g. @v0.1.0) or install a Rust toolchain before this action"
source_dir="${PATCHER_SOURCE:-${GITHUB_ACTION_PATH:-}}"
[ -n "$source_dir" ] || fail "PATCHER_SOURCE is empty (the patcher sources for the cargo fallback)"
# The action's own checkout is the sources at its ref: building them is `cargo install --git
# <repo> --rev <ref>` without cloning again. Not cached: a branch moves.
"$cargo" install --locked --quiet --path "$source_dir" --root "$temp/patcher" || fail "cargo install failed"
publish "$temp/patcher/bin"
