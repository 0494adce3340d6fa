#!/usr/bin/env bash
# Comments the measured effect of the latest merged patcher pull request on it, once: the
# `patcher stats WORKFLOW --pr N --format markdown` table (before/after rates, Wilson 95%
# intervals, Fisher's exact test, weekly chart) as soon as WORKFLOW has run MIN_RUNS times
# (completed, not cancelled or skipped) after the merge. Used by the drift workflow's optional
# step (PATCHER_STATS_COMMENT) and the action's `stats-comment` input; off by default.
#
#   scripts/stats-comment.sh WORKFLOW MIN_RUNS
#
# Environment: GITHUB_TOKEN (actions: read, pull-requests: write), GITHUB_REPOSITORY,
# GITHUB_API_URL [default: https://api.github.com], PATCHER [default: patcher].
# A marker line in the comment keeps a second run from commenting again. Exit 0 when it
# commented or had nothing to do yet; 1 on an error.
set -euo pipefail

workflow="${1:?usage: stats-comment.sh WORKFLOW MIN_RUNS}"
min_runs="${2:?usage: stats-comment.sh WORKFLOW MIN_RUNS}"
patcher="${PATCHER:-patcher}"
api="${GITHUB_API_URL:-https://api.github.com}"
repo="${GITHUB_REPOSITORY:?set GITHUB_REPOSITORY=OWNER/REPO}"
marker="<!-- patcher-stats: $workflow -->"

call() {
  curl -fsS -H "Authorization: Bearer ${GITHUB_TOKEN:?set GITHUB_TOKEN}" \
    -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28" "$@"
}

pr=$(call "$api/repos/$repo/pulls?state=closed&sort=updated&direction=desc&per_page=50" |
  jq -r '[.[] | select(.merged_at != null and (.head.ref | startswith("patcher/")))][0].number // empty')
if [ -z "$pr" ]; then
  echo "no merged patcher pull request in $repo"
  exit 0
fi
if call "$api/repos/$repo/issues/$pr/comments?per_page=100" | jq -e --arg m "$marker" 'any(.[]; .body | contains($m))' >/dev/null; then
  echo "pull request #$pr already has the stats comment"
  exit 0
fi
after=$("$patcher" stats "$workflow" --pr "$pr" --format json | jq '.periods[] | select(.name == "after") | .runs')
if [ "$after" -lt "$min_runs" ]; then
  echo "pull request #$pr: $after run(s) of $workflow since the merge; commenting at $min_runs"
  exit 0
fi
body=$(printf '%s\n%s\n' "$marker" "$("$patcher" stats "$workflow" --pr "$pr" --format markdown)")
jq -n --arg body "$body" '{body: $body}' |
  call -X POST -H "Content-Type: application/json" --data-binary @- "$api/repos/$repo/issues/$pr/comments" >/dev/null
echo "commented the stats of $workflow on pull request #$pr ($after runs since the merge)"
