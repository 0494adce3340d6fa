//! `patcher stats`: did a fix work? A workflow's runs from the Actions API
//! ([`actions_api`](crate::github::actions_api), [`runs`]), their first-attempt and eventual success rates with Wilson 95 % intervals, and,
//! split at a merged pull request or a commit, the same before and after with Fisher's exact
//! test ([`numbers`]). [`report`] writes text, `patcher.stats/v1` JSON and Markdown.

pub mod command;
pub mod numbers;
pub mod report;
pub mod runs;

use std::collections::BTreeMap;

use runs::Run;

/// Conclusions that say nothing about the workflow's health, counted apart.
pub const EXCLUDED: [&str; 4] = ["cancelled", "skipped", "action_required", "stale"];

#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub successes: u64,
    pub total: u64,
}

impl Rate {
    pub fn rate(&self) -> Option<f64> {
        (self.total > 0).then(|| self.successes as f64 / self.total as f64)
    }
    pub fn wilson95(&self) -> Option<(f64, f64)> {
        numbers::wilson95(self.successes, self.total)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// `all`, `before` or `after`.
    pub name: String,
    /// Completed runs that count (not excluded).
    pub runs: u64,
    /// Excluded runs by conclusion; `in_progress` for runs not completed yet.
    pub excluded: BTreeMap<String, u64>,
    pub first_attempt: Rate,
    pub eventual: Rate,
    /// With `--diagnose`: how many of the period's diagnosed failed runs each signature
    /// explains, most frequent first, and how many failed runs were diagnosed.
    pub causes: Option<(Vec<(String, u64)>, u64)>,
}

/// Diagnosed failed runs: run id → the signatures found in its failed jobs' logs.
pub type Diagnosed = std::collections::HashMap<u64, Vec<String>>;

impl Period {
    pub fn of(name: &str, runs: &[&Run]) -> Period {
        Period::diagnosed(name, runs, None)
    }

    pub fn diagnosed(name: &str, runs: &[&Run], diagnosed: Option<&Diagnosed>) -> Period {
        let mut p = Period {
            name: name.to_string(),
            runs: 0,
            causes: diagnosed.map(|d| causes_of(runs, d)),
            excluded: BTreeMap::new(),
            first_attempt: Rate {
                successes: 0,
                total: 0,
            },
            eventual: Rate {
                successes: 0,
                total: 0,
            },
        };
        for r in runs {
            let conclusion = r.conclusion.as_deref().unwrap_or("");
            if r.status != "completed" {
                *p.excluded.entry("in_progress".into()).or_default() += 1;
                continue;
            }
            if EXCLUDED.contains(&conclusion) {
                *p.excluded.entry(conclusion.to_string()).or_default() += 1;
                continue;
            }
            p.runs += 1;
            p.eventual.total += 1;
            p.eventual.successes += u64::from(conclusion == "success");
            p.first_attempt.total += 1;
            p.first_attempt.successes += u64::from(r.first_attempt.as_deref() == Some("success"));
        }
        p
    }
}

fn causes_of(runs: &[&Run], diagnosed: &Diagnosed) -> (Vec<(String, u64)>, u64) {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = 0;
    for r in runs {
        if let Some(sigs) = diagnosed.get(&r.id) {
            seen += 1;
            for s in sigs {
                *counts.entry(s.clone()).or_default() += 1;
            }
        }
    }
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (list, seen)
}

/// Where the runs were split: a merged pull request or a commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub pr: Option<u64>,
    pub merge_commit: String,
    /// Runs whose commit is not in the local clone, placed by time instead of ancestry.
    pub by_time: u64,
}

/// One week's first-attempt and eventual rates (for the chart).
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// `YYYY-MM-DD` of the week's Monday (UTC).
    pub start: String,
    pub first_attempt: Rate,
    pub eventual: Rate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub repository: String,
    pub workflow: String,
    pub branch: String,
    pub split: Option<Split>,
    pub periods: Vec<Period>,
    /// Fisher's exact test p-values (first attempt, eventual), with a split.
    pub fisher_p: Option<(Option<f64>, Option<f64>)>,
    pub weeks: Vec<Week>,
}

const WEEK: i64 = 7 * 86_400;
/// 1970-01-01 was a Thursday: weeks start 4 days later, on Monday.
const MONDAY: i64 = 4 * 86_400;

/// The weekly series of completed, counted runs.
pub fn weeks(runs: &[Run]) -> Vec<Week> {
    let mut by_week: BTreeMap<i64, Vec<&Run>> = BTreeMap::new();
    for r in runs {
        let start = (r.created_at - MONDAY).div_euclid(WEEK) * WEEK + MONDAY;
        by_week.entry(start).or_default().push(r);
    }
    by_week
        .into_iter()
        .map(|(start, rs)| {
            let p = Period::of("week", &rs);
            Week {
                start: jiff::Timestamp::from_second(start)
                    .map(|t| t.to_string().chars().take(10).collect())
                    .unwrap_or_default(),
                first_attempt: p.first_attempt,
                eventual: p.eventual,
            }
        })
        .filter(|w| w.eventual.total > 0)
        .collect()
}

/// Which side of the split a run is on (`true`: after).
pub type IsAfter<'a> = &'a dyn Fn(&Run) -> bool;

/// The statistics of `runs`: one `all` period, or `before`/`after` by `is_after`.
pub fn compute(
    repository: &str,
    workflow: &str,
    branch: &str,
    runs: &[Run],
    split: Option<(Split, IsAfter<'_>)>,
    diagnosed: Option<&Diagnosed>,
) -> Stats {
    let all: Vec<&Run> = runs.iter().collect();
    let (split, periods, fisher_p) = match split {
        None => (None, vec![Period::diagnosed("all", &all, diagnosed)], None),
        Some((split, is_after)) => {
            let (after, before): (Vec<&Run>, Vec<&Run>) = all.iter().partition(|r| is_after(r));
            let b = Period::diagnosed("before", &before, diagnosed);
            let a = Period::diagnosed("after", &after, diagnosed);
            let fisher = |x: &Rate, y: &Rate| {
                numbers::fisher_two_sided(
                    x.successes,
                    x.total - x.successes,
                    y.successes,
                    y.total - y.successes,
                )
            };
            let p = (
                fisher(&b.first_attempt, &a.first_attempt),
                fisher(&b.eventual, &a.eventual),
            );
            (Some(split), vec![b, a], Some(p))
        }
    };
    Stats {
        repository: repository.to_string(),
        workflow: workflow.to_string(),
        branch: branch.to_string(),
        split,
        periods,
        fisher_p,
        weeks: weeks(runs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64, day: i64, conclusion: &str, first: &str) -> Run {
        Run {
            id,
            head_sha: format!("{id:040}"),
            created_at: 1_714_953_600 + day * 86_400, // Monday 2024-05-06
            status: "completed".into(),
            conclusion: Some(conclusion.into()),
            run_attempt: if first == conclusion { 1 } else { 2 },
            first_attempt: Some(first.into()),
        }
    }

    #[test]
    fn periods_count_first_attempts_and_eventual_success_and_exclude_cancelled() {
        let runs = vec![
            run(1, 0, "success", "success"),
            run(2, 1, "success", "failure"),
            run(3, 2, "failure", "failure"),
            run(4, 3, "cancelled", "cancelled"),
            run(5, 8, "success", "success"),
        ];
        let s = compute("a/b", "ci.yml", "main", &runs, None, None);
        let p = &s.periods[0];
        assert_eq!((p.runs, p.excluded.get("cancelled")), (4, Some(&1)));
        assert_eq!((p.first_attempt.successes, p.first_attempt.total), (2, 4));
        assert_eq!((p.eventual.successes, p.eventual.total), (3, 4));
        assert_eq!(s.weeks.len(), 2);
        assert_eq!(s.weeks[0].start, "2024-05-06");
        assert_eq!(s.weeks[1].eventual.total, 1);
    }

    #[test]
    fn a_split_gives_before_and_after_and_fisher() {
        let mut runs = Vec::new();
        for i in 0..10 {
            runs.push(run(
                i,
                0,
                if i < 4 { "success" } else { "failure" },
                if i < 4 { "success" } else { "failure" },
            ));
            runs.push(run(
                100 + i,
                10,
                if i < 9 { "success" } else { "failure" },
                if i < 9 { "success" } else { "failure" },
            ));
        }
        let split = Split {
            pr: Some(7),
            merge_commit: "m".into(),
            by_time: 0,
        };
        let after = |r: &Run| r.id >= 100;
        let s = compute("a/b", "ci.yml", "main", &runs, Some((split, &after)), None);
        assert_eq!(s.periods[0].eventual.successes, 4);
        assert_eq!(s.periods[1].eventual.successes, 9);
        let (fa, ev) = s.fisher_p.unwrap();
        assert!((fa.unwrap() - 0.0573).abs() < 1e-3);
        assert!((ev.unwrap() - 0.0573).abs() < 1e-3);
    }
}
