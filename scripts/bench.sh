#!/usr/bin/env bash
# Issue 10's benchmark, side by side in one run (see the README, "Development"):
#   (a) `patcher apply --in-place` on fresh copies of the edit set, as a whole process;
#   (b) ruamel.yaml 0.19 round trip of the same edits (scripts/bench_ruamel.py, in a venv);
#   (c) event-parse floors over the same bytes: libyaml-rs, saphyr-parser (benches/floors.rs);
#   (d) the 5 largest corpus files (CRDs up to 2.7 MB): cost per MB stays flat;
#   (e) one-file and sample-app `plan` processes;
#   (f) peak RSS on the edit set and on the largest CRD;
#   (g) `plan` of the corpus against one yaml_serde parse of the same files, in one process
#       (benches/plan.rs), with the plan process's peak RSS;
#   (h) the sample app with Helm (the shim in ../shared/tools/helm, or PATCHER_HELM): the
#       first run, then later runs (where a render cache, once there, shows).
# Prints medians, ratios from this same run, MB/s and the files each tool changed.
#
# Usage: scripts/bench.sh [RUNS]   (default 11; ruamel runs min(RUNS, 3) times: ~4 s each)
# Needs ../shared/corpus. Wall times on a busy machine are noisy: read the ratios (same run)
# and the CPU times (perf stat task-clock), not the absolute figures.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=${PATCHER_CORPUS:-$repo/../shared/corpus}
runs=${1:-11}
out=$repo/target/bench
bin=$repo/target/release/patcher
[ -d "$corpus" ] || { echo "bench: $corpus not found (set PATCHER_CORPUS)" >&2; exit 1; }
mkdir -p "$out"

say() { printf '%s\n' "$*"; }
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else print v[int((NR+1)/2)]}'; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f\n", (b-a)*1000}'; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

# --- tools -------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq time >/dev/null 2>&1 || true
fi
have_time=$([ -x /usr/bin/time ] && echo 1 || echo 0)
have_perf=0
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then
    have_perf=1
fi
ruamel=1
py=$out/venv/bin/python
if ! "$py" -c 'import ruamel.yaml, sys; sys.exit(0 if ruamel.yaml.__version__.startswith("0.19") else 1)' 2>/dev/null; then
    if ! { python3 -m venv "$out/venv" && "$out/venv/bin/pip" install -q 'ruamel.yaml>=0.19,<0.20'; } >"$out/pip.log" 2>&1; then
        ruamel=0
        say "!!! ruamel.yaml 0.19 could not be installed (see $out/pip.log): the ruamel column is SKIPPED !!!"
    fi
fi

say "building (release)..."
(cd "$repo" && cargo build --release --locked -q && cargo bench --bench floors --locked --no-run -q 2>/dev/null)
floors() { (cd "$repo" && cargo bench --bench floors --locked -q -- "$@" 2>/dev/null); }

# CPU milliseconds of one process (all threads), via perf's task-clock, else user+sys.
cpu_ms() {
    if [ "$have_perf" = 1 ]; then
        perf stat -x, -e task-clock -o "$out/perf.txt" "$@" >/dev/null 2>&1 || true
        awk -F, '/task-clock/ {printf "%.3f\n", $1}' "$out/perf.txt"
    else
        /usr/bin/time -f '%U %S' -o "$out/time.txt" "$@" >/dev/null 2>&1 || true
        awk 'END {printf "%.3f\n", ($1+$2)*1000}' "$out/time.txt"
    fi
}
# Peak RSS in MB of one process.
rss_mb() {
    [ "$have_time" = 1 ] || { echo nan; return; }
    /usr/bin/time -f '%M' -o "$out/time.txt" "$@" >/dev/null 2>&1 || true
    # The last line: /usr/bin/time first notes a non-zero exit (plan exits 2 on changes).
    awk 'END {printf "%.1f\n", $1/1024}' "$out/time.txt"
}
# Median wall ms of RUNS runs of a command.
wall_ms() {
    local n=$1; shift
    for _ in $(seq "$n"); do
        local t=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || true
        ms_since "$t"
    done | median
}

# --- the edit set ------------------------------------------------------------------------
set_dir=$out/edit-set
rm -rf "$set_dir" && mkdir -p "$set_dir/charts" "$set_dir/workflows" "$set_dir/recipes"
for chart in "$corpus"/charts/*/; do
    [ -f "$chart/values.yaml" ] || continue
    name=$(basename "$chart")
    mkdir -p "$set_dir/charts/$name"
    cp "$chart/values.yaml" "$chart/Chart.yaml" "$set_dir/charts/$name/"
done
cp "$corpus"/workflows/* "$set_dir/workflows/"
cp "$repo/benches/edit_set/recipes.kdl" "$set_dir/recipes/edit-set.kdl"
list=$out/edit-set.list
{ ls "$set_dir"/charts/*/values.yaml; ls "$set_dir"/workflows/*; } >"$list"
files=$(wc -l <"$list")
bytes=$(cat $(cat "$list") | wc -c)
mb=$(calc "$bytes/1e6" 3)
say ""
say "edit set: $files files, $mb MB (17 charts/*/values.yaml + 169 workflows/*; 3 recipes)"
say "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); helm render verification off (--render never) throughout: the targets are for planning and editing"

changed_files() { diff -rq "$set_dir" "$1" 2>/dev/null | grep -c '^Files' || true; }

# (a) patcher apply --in-place, fresh copy per run (the copy is not timed).
work=$out/work
apply_times=()
for _ in $(seq "$runs"); do
    rm -rf "$work" && cp -r "$set_dir" "$work"
    t=$EPOCHREALTIME
    "$bin" apply --in-place --root "$work" --render never --color never >/dev/null 2>&1 || true
    apply_times+=("$(ms_since "$t")")
done
apply_ms=$(printf '%s\n' "${apply_times[@]}" | median)
patcher_changed=$(changed_files "$work")
plan_ms=$(wall_ms "$runs" "$bin" plan --root "$set_dir" --render never --color never)
plan_cpu=$(for _ in $(seq "$runs"); do cpu_ms "$bin" plan --root "$set_dir" --render never --color never; done | median)
rm -rf "$work" && cp -r "$set_dir" "$work"
apply_rss=$(rss_mb "$bin" apply --in-place --root "$work" --render never --color never)

# (b) ruamel.yaml round trip, fresh copy per run.
if [ "$ruamel" = 1 ]; then
    rruns=$((runs < 3 ? runs : 3))
    r_times=(); r_inner=()
    for _ in $(seq "$rruns"); do
        rm -rf "$work" && cp -r "$set_dir" "$work"
        t=$EPOCHREALTIME
        line=$("$py" "$repo/scripts/bench_ruamel.py" "$work")
        r_times+=("$(ms_since "$t")")
        r_inner+=("$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line" | awk '{print $1*1000}')")
    done
    ruamel_ms=$(printf '%s\n' "${r_times[@]}" | median)
    ruamel_inner=$(printf '%s\n' "${r_inner[@]}" | median)
    ruamel_changed=$(changed_files "$work")
fi

# (c) floors over the same bytes.
floor_out=$(floors --list "$list" --runs "$runs")
floor() { awk -v n="$1" '$1=="floor" && $2==n {for(i=3;i<=NF;i++) if ($i ~ /^median_ms=/) {sub("median_ms=","",$i); print $i}}' <<<"$floor_out"; }
libyaml_ms=$(floor libyaml-rs); saphyr_ms=$(floor saphyr-parser); events_ms=$(floor patcher-events)
old_events_ms=$(floor patcher-events-libyaml)
fastest=$(printf '%s\n%s\n' "$libyaml_ms" "$saphyr_ms" | sort -g | head -1)

say ""
say "== edit set: medians of $runs runs (ruamel: ${rruns:-0}) =="
printf '%-52s %10s %9s\n' "" "ms" "MB/s"
printf '%-52s %10.1f %9.1f   %s files changed\n' "patcher apply --in-place (process, wall)" "$apply_ms" "$(calc "$mb/($apply_ms/1000)" 1)" "$patcher_changed"
printf '%-52s %10.1f %9.1f\n' "patcher plan (process, wall)" "$plan_ms" "$(calc "$mb/($plan_ms/1000)" 1)"
printf '%-52s %10.1f %9.1f\n' "patcher plan (process, CPU of all threads)" "$plan_cpu" "$(calc "$mb/($plan_cpu/1000)" 1)"
if [ "$ruamel" = 1 ]; then
    printf '%-52s %10.1f %9.1f   %s files changed\n' "ruamel.yaml round trip (process, wall)" "$ruamel_ms" "$(calc "$mb/($ruamel_ms/1000)" 1)" "$ruamel_changed"
    printf '%-52s %10.1f %9.1f\n' "ruamel.yaml load+edit+dump only (no startup)" "$ruamel_inner" "$(calc "$mb/($ruamel_inner/1000)" 1)"
fi
printf '%-52s %10.1f %9.1f\n' "floor: libyaml-rs events (1 thread)" "$libyaml_ms" "$(calc "$mb/($libyaml_ms/1000)" 1)"
printf '%-52s %10.1f %9.1f\n' "floor: saphyr-parser 0.3.4 events (1 thread)" "$saphyr_ms" "$(calc "$mb/($saphyr_ms/1000)" 1)"
printf '%-52s %10.1f %9.1f\n' "patcher's event list, saphyr (1 thread)" "$events_ms" "$(calc "$mb/($events_ms/1000)" 1)"
printf '%-52s %10.1f %9.1f\n' "patcher's event list over libyaml-rs (before)" "$old_events_ms" "$(calc "$mb/($old_events_ms/1000)" 1)"
say "event list, libyaml / saphyr                   = $(calc "$old_events_ms/$events_ms" 2)x"
grep '^disagree' <<<"$floor_out" || true
say ""
if [ "$ruamel" = 1 ]; then
    say "ruamel / patcher apply (wall, whole processes)  = $(calc "$ruamel_ms/$apply_ms" 1)x   (target >= 100x)"
    say "ruamel edit-only / patcher apply                = $(calc "$ruamel_inner/$apply_ms" 1)x"
    if [ "$ruamel_changed" = "$patcher_changed" ]; then
        say "files changed: patcher $patcher_changed, ruamel $ruamel_changed (agree)"
    else
        say "files changed: patcher $patcher_changed, ruamel $ruamel_changed: DISAGREE (see the two trees under $out)"
    fi
else
    say "ruamel / patcher: SKIPPED (no ruamel.yaml 0.19)"
fi
say "end to end: $(calc "$mb/($apply_ms/1000)" 1) MB/s   (target >= 35 MB/s)"
say "plan CPU / fastest floor ($fastest ms)          = $(calc "$plan_cpu/$fastest" 2)x   (target <= 3x)"
say "peak RSS, apply on the edit set: $apply_rss MB for $mb MB of input"

# (d) the 5 largest corpus files, each planned alone with one edit (a label on the CRD).
say ""
say "== the 5 largest corpus files: plan of one edit, medians of $runs runs =="
printf '%-44s %8s %9s %9s %8s %8s %9s\n' "file" "MB" "wall ms" "CPU ms" "ms/MB" "floor" "CPU/floor"
large=$out/large
rm -rf "$large" && mkdir -p "$large"
largest=""
while read -r size path; do
    rel=${path#"$corpus"/}
    dir=$large/$(basename "$path" .yaml)
    mkdir -p "$dir/recipes" "$dir/$(dirname "$rel")"
    cp "$path" "$dir/$rel"
    chart=$(cut -d/ -f1-2 <<<"$rel")
    [ -f "$corpus/$chart/Chart.yaml" ] && cp "$corpus/$chart/Chart.yaml" "$dir/$chart/"
    printf 'recipe "large" {\n    file "%s" { set "/metadata/labels/patcher-bench" "large"; }\n}\n' "$rel" >"$dir/recipes/large.kdl"
    w=$(wall_ms "$runs" "$bin" plan --root "$dir" --render never --color never)
    c=$(for _ in $(seq "$runs"); do cpu_ms "$bin" plan --root "$dir" --render never --color never; done | median)
    echo "$dir/$rel" >"$dir.list"
    f=$(floors --list "$dir.list" --runs "$runs" | awk '$1=="floor" && ($2=="libyaml-rs" || $2=="saphyr-parser") {for(i=3;i<=NF;i++) if ($i ~ /^median_ms=/) {sub("median_ms=","",$i); print $i}}' | sort -g | head -1)
    m=$(calc "$size/1e6" 3)
    printf '%-44s %8s %9.1f %9.1f %8.1f %8.1f %8.2fx\n' "$(basename "$path")" "$m" "$w" "$c" "$(calc "$c/$m" 1)" "$f" "$(calc "$c/$f" 2)"
    largest="$dir"
done < <(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' \) -printf '%s %p\n' | sort -n | tail -5)
say "peak RSS, plan of the largest ($(basename "$largest")): $(rss_mb "$bin" plan --root "$largest" --render never --color never) MB"

# (e) one file and the sample app, as a user runs them.
say ""
say "== the sample app (repository root), medians of $((runs * 2 + 1)) runs, no helm (--render never) =="
one=$(wall_ms $((runs * 2 + 1)) "$bin" plan --root "$repo" --render never --color never --only ci-no-hpa)
sample=$(wall_ms $((runs * 2 + 1)) "$bin" plan --root "$repo" --render never --color never)
# The same file alone beside only its recipe file, and a bare process start, to split the
# one-file figure into its fixed costs (process start, every recipe file's KDL parse).
solo=$out/one-file-repo
rm -rf "$solo" && mkdir -p "$solo/chart" "$solo/recipes"
cp "$repo/chart/values-ci.yaml" "$solo/chart/" && cp "$repo/recipes/ci-values.kdl" "$solo/recipes/"
alone=$(wall_ms $((runs * 2 + 1)) "$bin" plan --root "$solo" --render never --color never)
start=$(wall_ms $((runs * 2 + 1)) "$bin" --version)
say "one file (plan --only ci-no-hpa):  $one ms   (target < 5 ms)"
say "  the same file and recipe alone:  $alone ms   (all 5 recipe files parsed above: KDL is most of the gap)"
say "  process start (--version):       $start ms"
say "sample app (plan, 7 recipes):      $sample ms   (target < 10 ms)"
# (g) the corpus plan against yaml_serde, in one process (its ratio is the figure to read).
say ""
say "== the corpus: plan (benches/plan.rs) against one yaml_serde parse, same process =="
(cd "$repo" && PATCHER_CORPUS=$corpus cargo bench --bench plan --locked -q 2>/dev/null) | grep -E '^(corpus|yaml_serde parse, the|patcher plan|plan /)' || say "(cargo bench --bench plan failed)"
say "peak RSS, plan of the corpus (benches/recipes/corpus.kdl): $(rss_mb "$bin" plan --root "$corpus" --recipes "$repo/benches/recipes/corpus.kdl" --render never --color never) MB"

# (h) the sample app with Helm.
helm=${PATCHER_HELM:-$repo/../shared/tools/helm/helm}
say ""
if [ -x "$helm" ]; then
    say "== the sample app with Helm ($helm), --render auto =="
    t=$EPOCHREALTIME
    PATCHER_HELM=$helm "$bin" plan --root "$repo" --color never >/dev/null 2>&1 || true
    say "first run:                         $(ms_since "$t") ms"
    say "later runs (median of $runs):        $(wall_ms "$runs" env PATCHER_HELM="$helm" "$bin" plan --root "$repo" --color never) ms   (without Helm: $sample ms)"
else
    say "the sample app with Helm: SKIPPED (no helm at $helm; set PATCHER_HELM)"
fi
say ""
say "Wall times are this machine's, now (load $(cut -d' ' -f1-3 /proc/loadavg)); compare ratios from one run."
