//! `patcher diagnose` on real failure excerpts that people pasted into public GitHub issues
//! (`tests/data/logs/real/`, each with its repository and issue in `SOURCES.tsv`): one test
//! per excerpt for its primary cause (or none), the catalogue fix and the other causes it may
//! show; and the recall and false-positive figures per signature against the done-when
//! (≥ 90 % of failures get a cause with the right fix, no unrelated failure gets a cause).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use patcher::causes::scan::{self, Hit, Unmatched};
use patcher::causes::{log, signature};

fn real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/logs/real")
}

/// One line of `SOURCES.tsv`.
#[derive(Debug, Clone)]
struct Source {
    file: String,
    repository: String,
    number: String,
    printer: String,
    /// `None`: an unrelated failure that must get no cause.
    signature: Option<String>,
    /// The catalogue recipe the cause must name; `None` for a signature with only a fix-hint.
    fix: Option<String>,
    /// Other signatures that may rightly fire on the excerpt too (never the primary).
    also: Vec<String>,
}

fn sources() -> Vec<Source> {
    let path = real().join("SOURCES.tsv");
    let text = std::fs::read_to_string(&path).expect("SOURCES.tsv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("file\trepository\tnumber\tprinter\tsignature\tfix\talso"),
        "SOURCES.tsv header"
    );
    let opt = |s: &str| (s != "none" && s != "-").then(|| s.to_string());
    lines
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "SOURCES.tsv:{}: seven columns: {line}", i + 2);
            assert!(
                f[2].bytes().all(|b| b.is_ascii_digit()) && f[1].contains('/'),
                "SOURCES.tsv:{}: repository owner/name and issue number: {line}",
                i + 2
            );
            Source {
                file: f[0].into(),
                repository: f[1].into(),
                number: f[2].into(),
                printer: f[3].into(),
                signature: opt(f[4]),
                fix: opt(f[5]),
                also: f[6].split(',').filter_map(opt).collect(),
            }
        })
        .collect()
}

fn source(file: &str) -> Source {
    sources()
        .into_iter()
        .find(|s| s.file == file)
        .unwrap_or_else(|| panic!("{file} is not in SOURCES.tsv"))
}

fn diagnose(file: &str) -> (Vec<Hit>, Vec<Unmatched>) {
    let sigs = signature::builtin().expect("shipped signatures parse");
    let logs = log::read_path(&real().join(file)).expect("read the excerpt");
    scan::scan(&sigs, &logs)
}

/// Whether the diagnosis gives the excerpt's expected cause with its fix (any cause, not only
/// the primary: the done-when counts a cause whose fixes include the right recipe).
fn recalled(s: &Source, hits: &[Hit]) -> bool {
    let Some(want) = &s.signature else {
        return false;
    };
    hits.iter().any(|h| {
        &h.signature == want
            && match &s.fix {
                Some(fix) => h.fixes.contains(fix),
                None => h.fix_hint.is_some(),
            }
    })
}

fn check(file: &str) {
    let s = source(file);
    let (hits, unmatched) = diagnose(file);
    let names: Vec<&str> = hits.iter().map(|h| h.signature.as_str()).collect();
    let origin = format!("{} ({}#{}, {})", s.file, s.repository, s.number, s.printer);
    let Some(want) = &s.signature else {
        assert!(
            hits.is_empty(),
            "{origin}: an unrelated failure got causes {names:?}"
        );
        // A miss is explained with the lines a person would read.
        assert_eq!(unmatched.len(), 1, "{origin}: listed as no known cause");
        assert!(
            !unmatched[0].last_lines.is_empty(),
            "{origin}: no error lines shown"
        );
        return;
    };
    assert_eq!(
        names.first().copied(),
        Some(want.as_str()),
        "{origin}: primary cause (all: {names:?})"
    );
    assert!(hits[0].primary, "{origin}: the first cause is primary");
    assert!(
        hits.iter().skip(1).all(|h| !h.primary),
        "{origin}: one primary"
    );
    let expected: BTreeSet<&str> = std::iter::once(want.as_str())
        .chain(s.also.iter().map(String::as_str))
        .collect();
    let got: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(got, expected, "{origin}: the causes shown");
    let primary = &hits[0];
    match &s.fix {
        Some(fix) => assert!(
            primary.fixes.contains(fix),
            "{origin}: {want} names {:?}, not {fix}",
            primary.fixes
        ),
        None => assert!(
            primary.fixes.is_empty() && primary.fix_hint.is_some(),
            "{origin}: {want} should give a fix-hint and name no recipe"
        ),
    }
    if let Some(m) = &primary.message {
        assert!(
            !m.contains('{') && !m.contains("  "),
            "{origin}: message {m:?}"
        );
    }
    assert!(
        unmatched.is_empty(),
        "{origin}: explained, so not listed as unknown"
    );
}

/// One test per excerpt; `every_excerpt_has_its_own_test` keeps the list equal to SOURCES.tsv.
macro_rules! excerpts {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                check($file);
            }
        )*
        const TESTED: &[&str] = &[$($file),*];
    };
}

excerpts! {
    atomic_helm2_helm_5377 => "atomic-helm2-helm-5377.log",
    atomic_helm3_debug_helm_3980 => "atomic-helm3-debug-helm-3980.log",
    atomic_helm3_helm_9982 => "atomic-helm3-helm-9982.log",
    atomic_helm3_rollback_helm_8675 => "atomic-helm3-rollback-helm-8675.log",
    backoff_controller_log_k8s_96038 => "backoff-controller-log-k8s-96038.log",
    backoff_helm_debug_helm_10720 => "backoff-helm-debug-helm-10720.log",
    backoff_helm3_atomic_posthog_6025 => "backoff-helm3-atomic-posthog-6025.log",
    backoff_helm3_longhorn_11824 => "backoff-helm3-longhorn-11824.log",
    backoff_helm3_zadig_1726 => "backoff-helm3-zadig-1726.log",
    backoff_status_json_k8s_93559 => "backoff-status-json-k8s-93559.log",
    backoff_status_yaml_k8s_92245 => "backoff-status-yaml-k8s-92245.log",
    crd_helm3_kube_httpcache_139 => "crd-helm3-kube-httpcache-139.log",
    crd_helm3_vault_config_operator_221 => "crd-helm3-vault-config-operator-221.log",
    crd_kubectl_gpu_operator_453 => "crd-kubectl-gpu-operator-453.log",
    crd_kubectl_old_openshift_state_metrics_48 => "crd-kubectl-old-openshift-state-metrics-48.log",
    crd_make_camunda_423 => "crd-make-camunda-423.log",
    deadline_controller_log_k8s_62134 => "deadline-controller-log-k8s-62134.log",
    deadline_helm3_sentry_charts_753 => "deadline-helm3-sentry-charts-753.log",
    deadline_helmfile_829 => "deadline-helmfile-829.log",
    deadline_status_yaml_k8s_90551 => "deadline-status-yaml-k8s-90551.log",
    imagepull_describe_old_k8s_30710 => "imagepull-describe-old-k8s-30710.log",
    imagepull_describe_website_56173 => "imagepull-describe-website-56173.log",
    imagepull_event_k8s_kubectl_157 => "imagepull-event-k8s-kubectl-157.log",
    imagepull_get_pods_ckad_176 => "imagepull-get-pods-ckad-176.log",
    imagepull_status_drain_node_7 => "imagepull-status-drain-node-7.log",
    immutable_inline_babelfish_2659 => "immutable-inline-babelfish-2659.log",
    immutable_node_adcp_498 => "immutable-node-adcp-498.log",
    immutable_psql_miningcore_1061 => "immutable-psql-miningcore-1061.log",
    inprogress_controller_harvester_3643 => "inprogress-controller-harvester-3643.log",
    inprogress_helm3_debug_helm_8987 => "inprogress-helm3-debug-helm-8987.log",
    inprogress_helm3_eks_helm_11421 => "inprogress-helm3-eks-helm-11421.log",
    inprogress_helm3_rancher_40874 => "inprogress-helm3-rancher-40874.log",
    inprogress_wrapper_keptn_3890 => "inprogress-wrapper-keptn-3890.log",
    insecuretls_controller_metrics_server_196 => "insecuretls-controller-metrics-server-196.log",
    insecuretls_controller_metrics_server_767 => "insecuretls-controller-metrics-server-767.log",
    insecuretls_inline_kubeadm_2028 => "insecuretls-inline-kubeadm-2028.log",
    insecuretls_kind_metrics_server_1282 => "insecuretls-kind-metrics-server-1282.log",
    insecuretls_kubectl_top_oci_3 => "insecuretls-kubectl-top-oci-3.log",
    insecuretls_quoted_do_marketplace_93 => "insecuretls-quoted-do-marketplace-93.log",
    metrics_describe_hpa_openstudio_4 => "metrics-describe-hpa-openstudio-4.log",
    metrics_event_yaml_k8s_102017 => "metrics-event-yaml-k8s-102017.log",
    metrics_get_events_metrics_server_974 => "metrics-get-events-metrics-server-974.log",
    metrics_inline_azure_docs_9166 => "metrics-inline-azure-docs-9166.log",
    nameinuse_helm3_azure_docs_111455 => "nameinuse-helm3-azure-docs-111455.log",
    nameinuse_terraform_tetrate_107 => "nameinuse-terraform-tetrate-107.log",
    nameinuse_wrapper_helmwave_150 => "nameinuse-wrapper-helmwave-150.log",
    nameinuse_wrapper_radius_6785 => "nameinuse-wrapper-radius-6785.log",
    nodeployed_helm2_banzai_1110 => "nodeployed-helm2-banzai-1110.log",
    nodeployed_helm3_debug_helm_6934 => "nodeployed-helm3-debug-helm-6934.log",
    nodeployed_helm3_kubecf_680 => "nodeployed-helm3-kubecf-680.log",
    nodeployed_rancher_ui_dashboard_1429 => "nodeployed-rancher-ui-dashboard-1429.log",
    none_actions_changed_files_884 => "none-actions-changed-files-884.log",
    none_actions_cocogitto_action_48 => "none-actions-cocogitto-action-48.log",
    none_compile_rust_crush_45 => "none-compile-rust-crush-45.log",
    none_compile_rust_hurl_334 => "none-compile-rust-hurl-334.log",
    none_compile_rust_mistralrs_1162 => "none-compile-rust-mistralrs-1162.log",
    none_disk_full_docker_crucible_1175 => "none-disk-full-docker-crucible-1175.log",
    none_disk_full_runner_buildx_3040 => "none-disk-full-runner-buildx-3040.log",
    none_lint_eslint_babel_starter_kit_2 => "none-lint-eslint-babel-starter-kit-2.log",
    none_lint_eslint_npm_8802 => "none-lint-eslint-npm-8802.log",
    none_oom_node_easy_genomics_160 => "none-oom-node-easy-genomics-160.log",
    none_oom_travis_civic_829 => "none-oom-travis-civic-829.log",
    none_test_pytest_40 => "none-test-pytest-40.log",
    none_test_pytest_check_150 => "none-test-pytest-check-150.log",
    none_x509_kubectl_logs_k8s_100098 => "none-x509-kubectl-logs-k8s-100098.log",
    portalloc_k3d_151 => "portalloc-k3d-151.log",
    portalloc_k3d_208 => "portalloc-k3d-208.log",
    portalloc_k3d_248 => "portalloc-k3d-248.log",
    portalloc_k3d_dandelion_4 => "portalloc-k3d-dandelion-4.log",
    postgres_psql_kubeplus_175 => "postgres-psql-kubeplus-175.log",
    postgres_psql_windows_edb_installers_563 => "postgres-psql-windows-edb-installers-563.log",
    postgres_rails_pg_adapter_15 => "postgres-rails-pg-adapter-15.log",
    probe_describe_dashboard_3254 => "probe-describe-dashboard-3254.log",
    probe_events_knative_2804 => "probe-events-knative-2804.log",
    probe_events_kube_router_1670 => "probe-events-kube-router-1670.log",
    probe_get_pods_domain_exporter_64 => "probe-get-pods-domain-exporter-64.log",
    probe_inline_helm_charts_12409 => "probe-inline-helm-charts-12409.log",
    probe_inline_secret_generator_65 => "probe-inline-secret-generator-65.log",
    service_dockerize_mysql_azuracast_3480 => "service-dockerize-mysql-azuracast-3480.log",
    service_nest_ioredis_bigcapital_1036 => "service-nest-ioredis-bigcapital-1036.log",
    service_node_redis_mastodon_19 => "service-node-redis-mastodon-19.log",
    service_node_redis_vpdb_263 => "service-node-redis-vpdb-263.log",
    service_redis_cli_ansible_redis_194 => "service-redis-cli-ansible-redis-194.log",
    service_python_redis_py_2168 => "service-python-redis-py-2168.log",
    service_mysql_cli_bitnami_charts_5817 => "service-mysql-cli-bitnami-charts-5817.log",
    service_python_pymysql_kubeblocks_5222 => "service-python-pymysql-kubeblocks-5222.log",
    timeout_actions_hosted_notion_backup_21 => "timeout-actions-hosted-notion-backup-21.log",
    timeout_actions_metrics_731 => "timeout-actions-metrics-731.log",
    timeout_actions_runner_685 => "timeout-actions-runner-685.log",
    timeout_actions_vmpackages_1448 => "timeout-actions-vmpackages-1448.log",
    timeout_helm2_helm_1826 => "timeout-helm2-helm-1826.log",
    webhook_events_kserve_580 => "webhook-events-kserve-580.log",
    webhook_helm3_atomic_viya4_319 => "webhook-helm3-atomic-viya4-319.log",
    webhook_helm3_eshop_1980 => "webhook-helm3-eshop-1980.log",
    webhook_helm3_kubrix_785 => "webhook-helm3-kubrix-785.log",
    webhook_kubectl_deadline_ingress_nginx_5401 => "webhook-kubectl-deadline-ingress-nginx-5401.log",
    webhook_kubectl_jitsi_24 => "webhook-kubectl-jitsi-24.log",
}

#[test]
fn every_excerpt_has_its_own_test_and_a_source() {
    let listed: BTreeSet<String> = sources().into_iter().map(|s| s.file).collect();
    let tested: BTreeSet<String> = TESTED.iter().map(|s| s.to_string()).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(real())
        .expect("real/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    assert_eq!(listed, on_disk, "SOURCES.tsv lists exactly the excerpts");
    assert_eq!(tested, listed, "each excerpt has its test (excerpts! list)");
    assert!(listed.len() >= 48, "{} excerpts", listed.len());
}

#[test]
fn recall_and_false_positives_meet_the_done_when() {
    let sigs = signature::builtin().expect("shipped signatures parse");
    let all = sources();
    // signature → (recalled, total, printers)
    let mut per: BTreeMap<String, (usize, usize, BTreeSet<String>)> = BTreeMap::new();
    let mut printers: BTreeMap<String, usize> = BTreeMap::new();
    let (mut failures, mut recalled_n, mut unrelated, mut false_positives) = (0, 0, 0, Vec::new());
    for s in &all {
        *printers.entry(s.printer.clone()).or_default() += 1;
        let (hits, _) = diagnose(&s.file);
        match &s.signature {
            Some(want) => {
                failures += 1;
                let e = per.entry(want.clone()).or_default();
                e.1 += 1;
                e.2.insert(s.printer.clone());
                if recalled(s, &hits) {
                    e.0 += 1;
                    recalled_n += 1;
                }
            }
            None => {
                unrelated += 1;
                for h in &hits {
                    false_positives.push(format!("{} on {}", h.signature, s.file));
                }
            }
        }
    }
    println!("signature                      matched/total  printers");
    for (name, (ok, total, pr)) in &per {
        println!(
            "{name:30} {ok:>3}/{total:<3}        {}",
            pr.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    println!(
        "recall: {recalled_n}/{failures} failure excerpts get a cause with the right fix; \
         false positives: {}/{unrelated} unrelated excerpts",
        false_positives.len()
    );
    println!("excerpts by printer: {printers:?}");
    for sig in &sigs {
        let n = per.get(&sig.name).map_or(0, |e| e.1);
        assert!(n >= 3, "{} has {n} real excerpts, fewer than 3", sig.name);
    }
    assert!(
        unrelated >= 10,
        "{unrelated} unrelated excerpts, fewer than 10"
    );
    assert!(
        false_positives.is_empty(),
        "false positives: {false_positives:?}"
    );
    assert!(
        recalled_n * 10 >= failures * 9,
        "recall {recalled_n}/{failures} is below 90 %"
    );
}
