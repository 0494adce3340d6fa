//! From discovered [`Facts`] to catalogue instantiations: which recipe, with which
//! parameters, for which chart or workflow, and why a recipe was left out.

use serde_json::Value;

use super::discover::{ChartFacts, ClusterTool, Facts, WorkflowFacts};

/// One `use "catalog:RECIPE" name=... KEY=VALUE...` that init would write.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    pub recipe: &'static str,
    /// The instance's name; `None` keeps the recipe's own (set when a recipe is used twice).
    pub name: Option<String>,
    /// Parameters in the order they are written.
    pub args: Vec<(&'static str, Arg)>,
    /// What this instance is about, for the instance name: a chart, a workflow, a key.
    pub about: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Int(i64),
}

/// A catalogue recipe that was not tried, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub recipe: &'static str,
    pub reason: String,
}

/// Every catalogue recipe init knows how to fill in (each one is either proposed with
/// parameters or skipped with a reason).
pub const RECIPES: [&str; 12] = [
    "job-retries",
    "wait-for-service",
    "probe-delays",
    "startup-probe",
    "hpa-off-in-ci",
    "pin-image-tag",
    "helm-upgrade-wait",
    "helm-upgrade-retry",
    "deploy-concurrency",
    "k3d-metrics-server",
    "metrics-server-insecure-tls",
    "job-timeout-minutes",
];

/// The uses to try, in [`RECIPES`] order, and the recipes left out.
pub fn propose(facts: &Facts) -> (Vec<Use>, Vec<Skipped>) {
    let mut uses = Vec::new();
    let mut skipped = Vec::new();
    for recipe in RECIPES {
        let before = uses.len();
        let reason = match recipe {
            "job-retries" => job_retries(facts, &mut uses),
            "wait-for-service" => wait_for_service(facts, &mut uses),
            "probe-delays" => probe_delays(facts, &mut uses),
            "startup-probe" => startup_probe(facts, &mut uses),
            "hpa-off-in-ci" => hpa_off(facts, &mut uses),
            "pin-image-tag" => pin_tag(facts, &mut uses),
            "helm-upgrade-wait" | "helm-upgrade-retry" => deploy_steps(recipe, facts, &mut uses),
            "deploy-concurrency" => concurrency(facts, &mut uses),
            "k3d-metrics-server" => k3d_metrics(facts, &mut uses),
            "metrics-server-insecure-tls" => insecure_tls(facts, &mut uses),
            "job-timeout-minutes" => timeouts(facts, &mut uses),
            _ => None,
        };
        if uses.len() == before {
            skipped.push(Skipped {
                recipe,
                reason: reason.unwrap_or_else(|| "nothing in this repository it applies to".into()),
            });
        }
        name_instances(&mut uses[before..]);
    }
    (uses, skipped)
}

/// A recipe used more than once gets one name per instance, from what each is about.
fn name_instances(uses: &mut [Use]) {
    if uses.len() < 2 {
        return;
    }
    for u in uses.iter_mut() {
        u.name = Some(format!("{}-{}", u.recipe, slug(&u.about)));
    }
    // Still equal (two keys that slug alike): number them.
    for i in 0..uses.len() {
        let same = uses[..i].iter().filter(|u| u.name == uses[i].name).count();
        if same > 0
            && let Some(n) = &mut uses[i].name
        {
            n.push_str(&format!("-{}", same + 1));
        }
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn str_arg(v: impl Into<String>) -> Arg {
    Arg::Str(v.into())
}

fn templates(c: &ChartFacts) -> String {
    if c.dir.is_empty() {
        "templates/**/*.yaml".into()
    } else {
        format!("{}/templates/**/*.yaml", c.dir)
    }
}

fn no_charts(facts: &Facts) -> Option<String> {
    facts
        .charts
        .is_empty()
        .then(|| "no chart (Chart.yaml) in this repository".to_string())
}

fn job_retries(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    for c in facts.charts.iter().filter(|c| !c.job_templates.is_empty()) {
        uses.push(Use {
            recipe: "job-retries",
            name: None,
            args: vec![("files", str_arg(templates(c)))],
            about: c.dir.clone(),
        });
    }
    no_charts(facts).or_else(|| Some("no chart template defines a Job".into()))
}

fn wait_for_service(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    for c in &facts.charts {
        for s in &c.services {
            uses.push(Use {
                recipe: "wait-for-service",
                name: None,
                args: vec![
                    ("files", str_arg(&s.template)),
                    ("host", str_arg(&s.host)),
                    ("port", Arg::Int(s.port.into())),
                    ("container", str_arg(format!("wait-for-{}", s.service))),
                ],
                about: format!("{}-{}", s.service, stem(&s.template)),
            });
        }
    }
    no_charts(facts).or_else(|| {
        Some("no Job's env holds a `scheme://host:port` connection string to wait for".into())
    })
}

fn probe_delays(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    for c in &facts.charts {
        for kind in &c.probed_kinds {
            uses.push(Use {
                recipe: "probe-delays",
                name: None,
                args: vec![("files", str_arg(templates(c))), ("kind", str_arg(kind))],
                about: format!("{}-{kind}", c.dir),
            });
        }
    }
    no_charts(facts).or_else(|| Some("no workload container has a probe".into()))
}

fn startup_probe(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let mut reason = None;
    for c in &facts.charts {
        let mut kinds: Vec<&String> = c.liveness_http.iter().map(|(k, _)| k).collect();
        kinds.dedup();
        for kind in kinds {
            let handlers: Vec<_> = c
                .liveness_http
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, h)| h)
                .collect();
            // One recipe instance gives every container of the kind the same handler.
            if handlers.windows(2).any(|w| w[0] != w[1]) {
                reason = Some(format!(
                    "the {kind} containers of {} have different liveness handlers; give each its own startup probe by hand",
                    display_dir(&c.dir)
                ));
                continue;
            }
            // The parameter is a string (a port name, or a number the snippet's YAML reads
            // back as one).
            let port = match &handlers[0].port {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            uses.push(Use {
                recipe: "startup-probe",
                name: None,
                args: vec![
                    ("files", str_arg(templates(c))),
                    ("kind", str_arg(kind)),
                    ("path", str_arg(&handlers[0].path)),
                    ("port", str_arg(port)),
                ],
                about: format!("{}-{kind}", c.dir),
            });
        }
    }
    reason
        .or_else(|| no_charts(facts))
        .or_else(|| Some("no container has a literal httpGet liveness probe to copy".into()))
}

fn display_dir(dir: &str) -> &str {
    if dir.is_empty() { "." } else { dir }
}

fn no_ci_values(c: &ChartFacts) -> String {
    format!(
        "chart {} has no CI values file (values-ci.yaml, ci/ci-values.yaml, or a -f of the step that deploys it)",
        display_dir(&c.dir)
    )
}

fn hpa_off(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let mut reason = None;
    for c in facts
        .charts
        .iter()
        .filter(|c| !c.autoscaling_keys.is_empty())
    {
        let Some(values) = &c.ci_values else {
            reason = Some(no_ci_values(c));
            continue;
        };
        for key in &c.autoscaling_keys {
            uses.push(Use {
                recipe: "hpa-off-in-ci",
                name: None,
                args: vec![("values", str_arg(values)), ("key", str_arg(key))],
                about: key.trim_end_matches("/enabled").to_string(),
            });
        }
    }
    reason
        .or_else(|| no_charts(facts))
        .or_else(|| Some("no `autoscaling.enabled: true` in a chart's values for CI".into()))
}

fn pin_tag(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let mut reason = None;
    for c in facts.charts.iter().filter(|c| !c.latest_tags.is_empty()) {
        let Some(values) = &c.ci_values else {
            reason = Some(no_ci_values(c));
            continue;
        };
        let Some(tag) = &c.app_version else {
            reason = Some(format!(
                "chart {} deploys `latest` in CI but has no appVersion to pin to; set the tag by hand",
                display_dir(&c.dir)
            ));
            continue;
        };
        for key in &c.latest_tags {
            uses.push(Use {
                recipe: "pin-image-tag",
                name: None,
                args: vec![
                    ("values", str_arg(values)),
                    ("key", str_arg(key)),
                    ("tag", str_arg(tag)),
                ],
                about: key.trim_end_matches("/tag").to_string(),
            });
        }
    }
    reason
        .or_else(|| no_charts(facts))
        .or_else(|| Some("no image tag is `latest` in CI".into()))
}

fn deploying(facts: &Facts) -> impl Iterator<Item = &WorkflowFacts> {
    facts
        .workflows
        .iter()
        .filter(|w| !w.deploy_steps.is_empty())
}

fn no_deploy_step() -> Option<String> {
    Some("no workflow step runs `helm upgrade`/`helm install` on this repository's chart".into())
}

fn deploy_steps(recipe: &'static str, facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let mut reason = None;
    for w in deploying(facts) {
        for s in &w.deploy_steps {
            let Some(name) = &s.name else {
                reason = Some(format!(
                    "the deploy step of {} (job {}) has no name to select it by",
                    w.path, s.job
                ));
                continue;
            };
            uses.push(Use {
                recipe,
                name: None,
                args: vec![("workflows", str_arg(&w.path)), ("step", str_arg(name))],
                about: format!("{}-{name}", stem(&w.path)),
            });
        }
    }
    reason.or_else(no_deploy_step)
}

fn stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file)
}

/// Only workflows that deploy to a cluster they do not create: in a throwaway k3d/kind
/// cluster no other run shares the release, and a cancelled upgrade's lock goes with it.
fn concurrency(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let persistent = || deploying(facts).filter(|w| w.cluster_steps.is_empty());
    for w in persistent().filter(|w| !w.has_concurrency) {
        uses.push(Use {
            recipe: "deploy-concurrency",
            name: None,
            args: vec![("workflows", str_arg(&w.path))],
            about: stem(&w.path).to_string(),
        });
    }
    if persistent().next().is_some() {
        Some("every deploy workflow has a concurrency group".into())
    } else if deploying(facts).next().is_some() {
        Some("the deploy workflows create their own k3d/kind cluster: no other run shares the release, and a cancelled upgrade's lock goes with the cluster".into())
    } else {
        no_deploy_step()
    }
}

fn k3d_metrics(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let mut reason = None;
    for w in &facts.workflows {
        for c in w
            .cluster_steps
            .iter()
            .filter(|c| c.tool == ClusterTool::K3d)
        {
            if !w.metrics_server_steps.is_empty() {
                reason = Some(format!("{} installs metrics-server already", w.path));
                continue;
            }
            let Some(anchor) = c.step.label() else {
                continue;
            };
            if c.step.uses.is_none() {
                reason = Some(format!(
                    "{} creates its k3d cluster with a script; the recipe edits AbsaOSS/k3d-action's args",
                    w.path
                ));
                continue;
            }
            uses.push(Use {
                recipe: "k3d-metrics-server",
                name: None,
                args: vec![("workflows", str_arg(&w.path)), ("step", str_arg(anchor))],
                about: stem(&w.path).to_string(),
            });
        }
    }
    reason.or_else(|| Some("no workflow creates a k3d cluster".into()))
}

fn insecure_tls(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    let mut reason = None;
    for w in facts
        .workflows
        .iter()
        .filter(|w| !w.cluster_steps.is_empty())
    {
        for (s, has_flag) in &w.metrics_server_steps {
            if *has_flag {
                reason = Some(format!(
                    "{} passes --kubelet-insecure-tls to metrics-server already",
                    w.path
                ));
                continue;
            }
            let Some(name) = &s.name else {
                reason = Some(format!(
                    "the metrics-server step of {} has no name to insert after",
                    w.path
                ));
                continue;
            };
            uses.push(Use {
                recipe: "metrics-server-insecure-tls",
                name: None,
                args: vec![("workflows", str_arg(&w.path)), ("step", str_arg(name))],
                about: stem(&w.path).to_string(),
            });
        }
    }
    reason.or_else(|| {
        Some("no workflow installs metrics-server into a k3d/kind cluster it creates".into())
    })
}

fn timeouts(facts: &Facts, uses: &mut Vec<Use>) -> Option<String> {
    if facts.workflows.is_empty() {
        return Some("no workflow under .github/workflows".into());
    }
    uses.push(Use {
        recipe: "job-timeout-minutes",
        name: None,
        args: Vec::new(),
        about: "workflows".into(),
    });
    None
}

#[cfg(test)]
mod tests {
    use super::super::discover::{ClusterStep, ServiceWait, StepRef};
    use super::*;

    fn step(job: &str, name: Option<&str>, uses: Option<&str>) -> StepRef {
        StepRef {
            job: job.into(),
            name: name.map(Into::into),
            uses: uses.map(Into::into),
        }
    }

    fn sample_like() -> Facts {
        Facts {
            charts: vec![ChartFacts {
                dir: "chart".into(),
                app_version: Some("0.1.0".into()),
                ci_values: Some("chart/values-ci.yaml".into()),
                autoscaling_keys: vec![
                    "/api/autoscaling/enabled".into(),
                    "/worker/autoscaling/enabled".into(),
                ],
                job_templates: vec!["chart/templates/migrations.yaml".into()],
                services: vec![ServiceWait {
                    template: "chart/templates/migrations.yaml".into(),
                    service: "postgres".into(),
                    host: "{{ .Release.Name }}-postgresql".into(),
                    port: 5432,
                }],
                ..ChartFacts::default()
            }],
            workflows: vec![WorkflowFacts {
                path: ".github/workflows/dev-ci.yml".into(),
                deploy_steps: vec![step("deploy", Some("Helm upgrade"), None)],
                cluster_steps: vec![ClusterStep {
                    step: step(
                        "deploy",
                        Some("Create k3d cluster"),
                        Some("AbsaOSS/k3d-action@v2"),
                    ),
                    tool: ClusterTool::K3d,
                }],
                ..WorkflowFacts::default()
            }],
            skipped: vec![],
        }
    }

    fn find<'a>(uses: &'a [Use], recipe: &str) -> Vec<&'a Use> {
        uses.iter().filter(|u| u.recipe == recipe).collect()
    }

    #[test]
    fn every_recipe_is_either_proposed_or_skipped_with_a_reason() {
        let (uses, skipped) = propose(&sample_like());
        for r in RECIPES {
            let used = uses.iter().any(|u| u.recipe == r);
            let left = skipped.iter().any(|s| s.recipe == r);
            assert!(used != left, "{r}: used {used}, skipped {left}");
        }
        let reasons: Vec<_> = skipped
            .iter()
            .map(|s| (s.recipe, s.reason.as_str()))
            .collect();
        assert!(
            reasons.contains(&(
                "metrics-server-insecure-tls",
                "no workflow installs metrics-server into a k3d/kind cluster it creates"
            )),
            "{reasons:?}"
        );
    }

    #[test]
    fn parameters_come_from_what_was_found() {
        let (uses, _) = propose(&sample_like());
        let wait = find(&uses, "wait-for-service");
        assert_eq!(
            wait[0].args,
            vec![
                ("files", str_arg("chart/templates/migrations.yaml")),
                ("host", str_arg("{{ .Release.Name }}-postgresql")),
                ("port", Arg::Int(5432)),
                ("container", str_arg("wait-for-postgres")),
            ]
        );
        let wait_step = find(&uses, "helm-upgrade-wait");
        assert_eq!(
            wait_step[0].args,
            vec![
                ("workflows", str_arg(".github/workflows/dev-ci.yml")),
                ("step", str_arg("Helm upgrade")),
            ]
        );
        assert_eq!(
            find(&uses, "k3d-metrics-server")[0].args[1],
            ("step", str_arg("Create k3d cluster"))
        );
    }

    #[test]
    fn a_recipe_used_twice_gets_a_distinct_name_per_instance() {
        let (uses, _) = propose(&sample_like());
        let names: Vec<_> = find(&uses, "hpa-off-in-ci")
            .iter()
            .map(|u| u.name.clone())
            .collect();
        assert_eq!(
            names,
            vec![
                Some("hpa-off-in-ci-api-autoscaling".to_string()),
                Some("hpa-off-in-ci-worker-autoscaling".to_string())
            ]
        );
        // Used once: the recipe's own name.
        assert_eq!(find(&uses, "job-retries")[0].name, None);
    }

    #[test]
    fn a_chart_without_a_ci_values_file_gets_no_values_recipes() {
        let mut facts = sample_like();
        facts.charts[0].ci_values = None;
        let (uses, skipped) = propose(&facts);
        assert!(find(&uses, "hpa-off-in-ci").is_empty());
        let reason = skipped
            .iter()
            .find(|s| s.recipe == "hpa-off-in-ci")
            .map(|s| s.reason.as_str());
        assert_eq!(
            reason,
            Some(
                "chart chart has no CI values file (values-ci.yaml, ci/ci-values.yaml, or a -f of the step that deploys it)"
            )
        );
    }

    #[test]
    fn deploy_concurrency_is_for_workflows_that_deploy_to_a_cluster_they_do_not_create() {
        let mut facts = sample_like();
        let (uses, skipped) = propose(&facts);
        assert!(find(&uses, "deploy-concurrency").is_empty());
        assert!(
            skipped
                .iter()
                .any(|s| s.recipe == "deploy-concurrency"
                    && s.reason.contains("own k3d/kind cluster")),
            "{skipped:?}"
        );
        facts.workflows[0].cluster_steps.clear();
        let (uses, _) = propose(&facts);
        assert_eq!(
            find(&uses, "deploy-concurrency")[0].args,
            vec![("workflows", str_arg(".github/workflows/dev-ci.yml"))]
        );
    }

    #[test]
    fn startup_probe_is_not_proposed_when_containers_disagree_on_the_handler() {
        use super::super::discover::HttpHandler;
        let mut facts = sample_like();
        let h = |p: &str| HttpHandler {
            path: p.into(),
            port: Value::String("http".into()),
        };
        facts.charts[0].liveness_http = vec![
            ("Deployment".into(), h("/health")),
            ("Deployment".into(), h("/livez")),
        ];
        let (uses, skipped) = propose(&facts);
        assert!(find(&uses, "startup-probe").is_empty());
        assert!(
            skipped
                .iter()
                .any(|s| s.recipe == "startup-probe"
                    && s.reason.contains("different liveness handlers")),
            "{skipped:?}"
        );
    }
}
