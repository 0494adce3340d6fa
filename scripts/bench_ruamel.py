"""ruamel.yaml round-trip baseline for scripts/bench.sh (issue 10).

Usage: bench_ruamel.py ROOT

Makes, in place under ROOT, the edits of the bench's three recipes with ruamel.yaml's
round-trip loader (preserve_quotes, wide width, so lines are not re-wrapped), and writes a
file back only when an edit changed it:

- values-probe-delay, charts/*/values.yaml: a top-level mapping's `initialDelaySeconds`, and
  its `livenessProbe`'s, are raised to at least 30;
- values-hpa-off, charts/*/values.yaml: `autoscaling.enabled: true` becomes false;
- job-timeouts, workflows/*: a job with `runs-on` and no `timeout-minutes` gets 30.

Prints `ruamel files=N changed=C seconds=S` (S: load + edit + dump, the interpreter's start
and the import not included; the bench also times the whole process).
"""

import glob
import io
import os
import sys
import time

from ruamel.yaml import YAML


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def at_least(m, key, floor):
    if hasattr(m, "get") and key in m and number(m[key]) and m[key] < floor:
        m[key] = floor
        return True
    return False


def values_edits(doc):
    changed = False
    if not hasattr(doc, "items"):
        return False
    for _, v in doc.items():
        if hasattr(v, "get"):
            changed |= at_least(v, "initialDelaySeconds", 30)
            probe = v.get("livenessProbe")
            if hasattr(probe, "get"):
                changed |= at_least(probe, "initialDelaySeconds", 30)
    hpa = doc.get("autoscaling")
    if hasattr(hpa, "get") and hpa.get("enabled") is True:
        hpa["enabled"] = False
        changed = True
    return changed


def workflow_edits(doc):
    changed = False
    jobs = doc.get("jobs") if hasattr(doc, "get") else None
    if not hasattr(jobs, "items"):
        return False
    for _, job in jobs.items():
        if hasattr(job, "get") and "runs-on" in job and "timeout-minutes" not in job:
            job["timeout-minutes"] = 30
            changed = True
    return changed


def main(root):
    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = 1 << 30
    files = [(p, values_edits) for p in sorted(glob.glob(os.path.join(root, "charts/*/values.yaml")))]
    files += [(p, workflow_edits) for p in sorted(glob.glob(os.path.join(root, "workflows/*")))]
    changed = 0
    start = time.perf_counter()
    for path, edit in files:
        with open(path, encoding="utf-8") as f:
            docs = list(yaml.load_all(f))
        if any([edit(d) for d in docs]):
            out = io.StringIO()
            yaml.dump_all(docs, out)
            with open(path, "w", encoding="utf-8") as f:
                f.write(out.getvalue())
            changed += 1
    print(f"ruamel files={len(files)} changed={changed} seconds={time.perf_counter() - start:.4f}")


if __name__ == "__main__":
    main(sys.argv[1])
