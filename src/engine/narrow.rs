//! Narrowing a render refusal: when a chart's render differs where no planned op says (in
//! any values scenario), the edits to blame are found by leaving edits out and rendering
//! again — first whole recipes (the fewest), then, of those, each values edit or file put
//! back when the chart still renders as planned with it. The edits kept are exactly a set
//! that verified in every scenario; the others are refused, naming the scenario and the
//! differences. A bounded number of re-verifications per chart; past it, every change of the
//! chart is refused as before, and the message says the bound was hit. Never keeps an edit
//! that was not verified with all the others kept.

use std::collections::BTreeSet;
use std::path::Path;

use crate::change::{FileChange, PlannedOp, op_sites};
use crate::doc::{Document, FileKind, chart_of};
use crate::edit;
use crate::finding::Finding;
use crate::render::{self, ChartRender, RenderMode, SetState, Verified};

/// How many times one chart is verified again while narrowing (each renders every values
/// scenario after the edit; the renders before the edit come from the render cache).
pub(super) const MAX_TRIES: usize = 8;

/// One piece of a chart's edits that can be left out: a recipe's ops in one file (`op`
/// `None`), or one of its values edits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Unit {
    recipe: String,
    file: String,
    op: Option<usize>,
}

/// Verifies `changes` like `render::verify`, narrowing each refused chart's refusal to the
/// fewest edits. Returns the verification (refusals included) and the changes it kept.
pub(super) fn verify(
    root: &Path,
    changes: Vec<FileChange>,
    named: &BTreeSet<String>,
    mode: RenderMode,
    helm: Option<&Path>,
) -> (Verified, Vec<FileChange>) {
    let mut v = render::verify(root, &changes, named, mode, helm);
    let refused_by_render = |c: &ChartRender| {
        c.sets
            .iter()
            .any(|s| matches!(s.state, SetState::Refused(_)))
    };
    let charts: Vec<String> = v
        .charts
        .iter()
        .filter(|c| refused_by_render(c))
        .map(|c| c.chart.clone())
        .collect();
    let refused_files: BTreeSet<String> = v.refused.iter().filter_map(|f| f.file.clone()).collect();
    let order: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
    let (mut kept, mut dropped): (Vec<FileChange>, Vec<FileChange>) = changes
        .into_iter()
        .partition(|c| !refused_files.contains(&c.path));
    for chart in charts {
        let in_chart = |c: &FileChange| chart_of(root, &c.path).as_deref() == Some(chart.as_str());
        let mine: Vec<FileChange> = dropped.iter().filter(|c| in_chart(c)).cloned().collect();
        let Some(pos) = v.charts.iter().position(|c| c.chart == chart) else {
            continue;
        };
        let why = scenario_messages(&v.charts[pos]);
        match narrow(root, &chart, &mine, named, mode, helm) {
            Narrowed::Kept {
                changes: good,
                report,
                left_out,
            } => {
                dropped.retain(|c| !in_chart(c));
                v.refused.retain(|f| {
                    f.file
                        .as_deref()
                        .is_none_or(|p| chart_of(root, p).as_deref() != Some(chart.as_str()))
                });
                let renders = v.charts[pos].renders + report.renders;
                let millis = v.charts[pos].millis + report.millis;
                v.charts[pos] = ChartRender {
                    renders,
                    millis,
                    ..*report
                };
                for u in &left_out {
                    let (what, it) = match u.op {
                        None => (format!("its edits of {}", u.file), "them"),
                        Some(_) => (format!("a values edit of {}", u.file), "it"),
                    };
                    let op = unit_op(&mine, u);
                    v.refused.push(Finding {
                        recipe: u.recipe.clone(),
                        origin: op.map(|o| o.origin.to_string()).unwrap_or_default(),
                        file: Some(u.file.clone()),
                        message: format!(
                            "render verification refused {what}{}: without {it} every values scenario renders as planned (the other edits of the chart are kept and verified); with {it} {why}",
                            op.map_or(String::new(), |o| format!(" ({})", o.path()))
                        ),
                    });
                }
                kept.extend(good);
            }
            Narrowed::Bound => {
                for f in v.refused.iter_mut().filter(|f| {
                    f.file
                        .as_deref()
                        .is_some_and(|p| chart_of(root, p).as_deref() == Some(chart.as_str()))
                }) {
                    f.message.push_str(&format!(
                        " (no smaller set of edits to refuse was found within {MAX_TRIES} re-renders of the chart)"
                    ));
                }
            }
            Narrowed::Nothing => {}
        }
    }
    // In the plan's order.
    kept.sort_by_key(|c| order.iter().position(|p| *p == c.path));
    (v, kept)
}

/// What the refused scenarios of a chart showed, for the refusal of what was left out.
fn scenario_messages(c: &ChartRender) -> String {
    let list: Vec<String> = c
        .sets
        .iter()
        .filter_map(|s| match &s.state {
            SetState::Refused(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    list.join("; ")
}

enum Narrowed {
    /// These changes verified; `left_out` were removed to get there.
    Kept {
        changes: Vec<FileChange>,
        report: Box<ChartRender>,
        left_out: Vec<Unit>,
    },
    /// The bound was hit first.
    Bound,
    /// Nothing smaller verifies (or there is only one piece).
    Nothing,
}

fn narrow(
    root: &Path,
    chart: &str,
    changes: &[FileChange],
    named: &BTreeSet<String>,
    mode: RenderMode,
    helm: Option<&Path>,
) -> Narrowed {
    let units = units_of(changes);
    let recipes: Vec<String> = {
        let mut r: Vec<String> = Vec::new();
        for u in &units {
            if !r.contains(&u.recipe) {
                r.push(u.recipe.clone());
            }
        }
        r
    };
    if units.len() < 2 {
        return Narrowed::Nothing;
    }
    let mut tries = 0;
    // The render of `changes` without `out`, when every scenario verifies.
    let attempt = |out: &[Unit], tries: &mut usize| -> Option<(Vec<FileChange>, ChartRender)> {
        *tries += 1;
        let cut = without(root, changes, out)?;
        if cut.is_empty() {
            return None;
        }
        let v = render::verify(root, &cut, named, mode, helm);
        let report = v.charts.into_iter().find(|c| c.chart == chart)?;
        let clean = v.refused.is_empty()
            && report.refused.is_none()
            && !report
                .sets
                .iter()
                .any(|s| matches!(s.state, SetState::Refused(_)));
        clean.then_some((cut, report))
    };
    // Whole recipes first, the fewest: every set of one, then of two…
    let mut found: Option<(Vec<Unit>, Vec<FileChange>, ChartRender)> = None;
    let by_recipe = |names: &[&String]| -> Vec<Unit> {
        units
            .iter()
            .filter(|u| names.contains(&&u.recipe))
            .cloned()
            .collect()
    };
    let mut candidates: Vec<Vec<Unit>> = Vec::new();
    if recipes.len() > 1 {
        for size in 1..recipes.len() {
            for combo in combinations(recipes.len(), size) {
                let names: Vec<&String> = combo.iter().map(|&i| &recipes[i]).collect();
                candidates.push(by_recipe(&names));
            }
        }
    } else {
        // One recipe: its pieces one at a time.
        candidates.extend(units.iter().map(|u| vec![u.clone()]));
    }
    for out in candidates {
        if tries >= MAX_TRIES {
            return Narrowed::Bound;
        }
        if let Some((cut, report)) = attempt(&out, &mut tries) {
            found = Some((out, cut, report));
            break;
        }
    }
    let Some((mut out, mut cut, mut report)) = found else {
        return if tries >= MAX_TRIES {
            Narrowed::Bound
        } else {
            Narrowed::Nothing
        };
    };
    // Then put back each piece of what was left out that still verifies with the rest.
    if out.len() > 1 {
        for u in out.clone() {
            if tries >= MAX_TRIES {
                break;
            }
            let fewer: Vec<Unit> = out.iter().filter(|x| **x != u).cloned().collect();
            if let Some((c, r)) = attempt(&fewer, &mut tries) {
                out = fewer;
                cut = c;
                report = r;
            }
        }
    }
    Narrowed::Kept {
        changes: cut,
        report: Box::new(report),
        left_out: out,
    }
}

/// The pieces of a chart's changes: per file and recipe, its ops; in a values file, each op
/// that stands for a template field (a values edit) on its own.
fn units_of(changes: &[FileChange]) -> Vec<Unit> {
    let mut out = Vec::new();
    for c in changes {
        for (n, op) in c.docs.iter().flat_map(|(_, o)| o).enumerate() {
            let u = Unit {
                recipe: op.recipe.to_string(),
                file: c.path.clone(),
                op: op.via.as_ref().map(|_| n),
            };
            if !out.contains(&u) {
                out.push(u);
            }
        }
        for t in &c.text_ops {
            let u = Unit {
                recipe: t.recipe.to_string(),
                file: c.path.clone(),
                op: None,
            };
            if !out.contains(&u) {
                out.push(u);
            }
        }
    }
    out
}

fn unit_op<'c>(changes: &'c [FileChange], u: &Unit) -> Option<&'c PlannedOp> {
    let c = changes.iter().find(|c| c.path == u.file)?;
    let mut ops = c.docs.iter().flat_map(|(_, o)| o);
    match u.op {
        Some(n) => ops.nth(n),
        None => ops.find(|o| *o.recipe == *u.recipe),
    }
}

/// `changes` with the ops of `out` left out, each file edited again from its old text and
/// verified as text; `None` when a file cannot be (a text edit mixed with what is left out,
/// an op that needed one left out).
fn without(root: &Path, changes: &[FileChange], out: &[Unit]) -> Option<Vec<FileChange>> {
    let mut result = Vec::new();
    for c in changes {
        let drops = |n: usize, op: &PlannedOp| {
            out.iter().any(|u| {
                u.file == c.path
                    && *u.recipe == *op.recipe
                    && u.op.is_none_or(|i| i == n)
                    && (u.op.is_some() || op.via.is_none())
            })
        };
        let mut n = 0;
        let mut any = false;
        let mut docs: Vec<(usize, Vec<PlannedOp>)> = Vec::new();
        for (i, ops) in &c.docs {
            let mut kept = Vec::new();
            for op in ops {
                if drops(n, op) {
                    any = true;
                } else {
                    kept.push(op.clone());
                }
                n += 1;
            }
            if !kept.is_empty() {
                docs.push((*i, kept));
            }
        }
        let text_out = c.text_ops.iter().any(|t| {
            out.iter()
                .any(|u| u.file == c.path && *u.recipe == *t.recipe)
        });
        if !any && !text_out {
            result.push(c.clone());
            continue;
        }
        if !c.text_ops.is_empty() {
            // Text edits are not re-made piece by piece: the whole file goes, or stays.
            if c.text_ops.iter().all(|t| {
                out.iter()
                    .any(|u| u.file == c.path && *u.recipe == *t.recipe)
            }) && c.docs.iter().all(|(_, o)| o.is_empty())
            {
                continue;
            }
            return None;
        }
        if docs.is_empty() {
            continue;
        }
        let kind = FileKind::detect(root, Path::new(&c.path));
        let doc = Document::parse(&c.path, c.old_text.clone(), kind).ok()?;
        let edited = edit::edit(&doc, &docs).ok()?;
        edit::verify::verify_edited(&doc, &edited, &docs).ok()?;
        let sites = docs.iter().map(|(i, o)| op_sites(&doc, *i, o)).collect();
        result.push(FileChange {
            path: c.path.clone(),
            old_text: c.old_text.clone(),
            new_text: edited.text,
            created: c.created,
            docs,
            sites,
            text_ops: Vec::new(),
        });
    }
    Some(result)
}

/// Every `k`-subset of `0..n`, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = (0..k).collect();
    if k == 0 || k > n {
        return out;
    }
    loop {
        out.push(cur.clone());
        let Some(i) = (0..k).rev().find(|&i| cur[i] != i + n - k) else {
            break;
        };
        cur[i] += 1;
        for j in i + 1..k {
            cur[j] = cur[j - 1] + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::combinations;

    #[test]
    fn combinations_are_every_subset_of_a_size_fewest_first() {
        assert_eq!(combinations(3, 1), [vec![0], vec![1], vec![2]]);
        assert_eq!(combinations(3, 2), [vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(combinations(2, 3), Vec::<Vec<usize>>::new());
    }
}
