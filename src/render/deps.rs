//! A chart's dependencies, as far as a render needs them: the ones vendored in its `charts/`
//! (helm reads those itself), and for each missing one the chart in the same repository that
//! provides it — the `file://` path its `repository` names, else a chart under the root whose
//! Chart.yaml `name` is the dependency's (monorepos: `bitnami/common` beside `bitnami/nginx`).
//! It never fetches a chart and never writes into the repository: the render copies what it
//! finds ([`super`]). A dependency found nowhere that the chart's values disable (its
//! `condition` is false, as argo-cd's `redis-ha.enabled`) renders nothing, so it gets an empty
//! stand-in; any other one found nowhere is named and the render is skipped.

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// One entry of `dependencies` (Chart.yaml, or requirements.yaml of an apiVersion v1 chart).
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub repository: String,
    pub version: String,
    /// `condition`: values paths, the first that is set decides whether it renders.
    pub condition: Vec<String>,
}

/// What a chart needs before `helm template` can run on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolution {
    /// Missing from `charts/` and provided by a chart under the root: (dependency name, that
    /// chart's directory relative to the root).
    pub from_root: Vec<(String, String)>,
    /// Missing and found nowhere: `redis-ha (https://dandydeveloper.github.io/charts/)`.
    pub missing: Vec<String>,
    /// Missing, found nowhere, and disabled by its `condition` in the chart's values: helm
    /// renders nothing of it, so an empty stand-in (a Chart.yaml) renders the same.
    pub disabled: Vec<Disabled>,
    /// `type: library`: helm renders it only inside the charts that depend on it.
    pub library: bool,
}

impl Resolution {
    /// Why the chart cannot be rendered, if it cannot.
    pub fn blocked(&self) -> Option<String> {
        if self.library {
            return Some(
                "a library chart (helm renders it only inside the charts that depend on it)".into(),
            );
        }
        match self.missing.as_slice() {
            [] => None,
            [one] => Some(format!(
                "dependency {one} is not in charts/ and no chart under the root is named {}",
                one.split(' ').next().unwrap_or(one)
            )),
            many => Some(format!(
                "dependencies {} are not in charts/ and no chart under the root provides them",
                many.join(", ")
            )),
        }
    }
}

/// A missing dependency that the chart's values disable.
#[derive(Debug, Clone, PartialEq)]
pub struct Disabled {
    pub name: String,
    pub version: String,
    /// The condition path that is false (`redis-ha.enabled`).
    pub by: String,
    /// All its condition paths, as JSON pointers: a scenario that sets one true enables it.
    pub pointers: Vec<String>,
}

impl Disabled {
    /// Whether `values` (one values file's model) turns it on: the first of its condition
    /// paths that the file sets decides, as helm's `condition` does.
    pub fn enabled_by(&self, values: &Value) -> bool {
        self.pointers
            .iter()
            .find_map(|p| values.pointer(p).and_then(Value::as_bool))
            .unwrap_or(false)
    }

    /// A stand-in chart for it: a Chart.yaml of that name (a version helm accepts).
    pub fn stand_in(&self) -> String {
        let plain = !self.version.is_empty()
            && self
                .version
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        let version = if plain {
            self.version.as_str()
        } else {
            "0.0.0"
        };
        format!(
            "apiVersion: v2\nname: {}\nversion: {version}\ndescription: empty stand-in for a dependency the chart's values disable (patcher render verification)\n",
            self.name
        )
    }
}

/// `redis-ha.enabled` → `/redis-ha/enabled`.
fn condition_pointer(path: &str) -> String {
    path.trim()
        .split('.')
        .map(|k| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The name and path of every chart under a root (a `Chart.yaml` with a `name`).
#[derive(Debug, Default)]
pub struct ChartIndex {
    charts: Vec<(String, String)>,
}

/// How deep the index looks below the root (monorepos keep charts a few levels down).
const INDEX_DEPTH: usize = 8;

impl ChartIndex {
    /// Walks `root` (not `.git`, `node_modules` or hidden directories).
    pub fn of(root: &Path) -> ChartIndex {
        fn walk(root: &Path, dir: &Path, depth: usize, out: &mut Vec<(String, String)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            let mut entries: Vec<_> = entries.flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let name = e.file_name();
                let name = name.to_string_lossy();
                let path = e.path();
                if name == "Chart.yaml" && path.is_file() {
                    if let Some(meta) = read_yaml(&path)
                        && let Some(n) = meta["name"].as_str()
                    {
                        let rel = dir.strip_prefix(root).unwrap_or(dir);
                        out.push((n.to_string(), slash(rel)));
                    }
                } else if depth < INDEX_DEPTH
                    && !name.starts_with('.')
                    && name != "node_modules"
                    && e.file_type().is_ok_and(|t| t.is_dir())
                {
                    walk(root, &path, depth + 1, out);
                }
            }
        }
        let mut charts = Vec::new();
        walk(root, root, 0, &mut charts);
        ChartIndex { charts }
    }

    /// The chart named `name` nearest to `chart` (fewest directory steps between them; then
    /// by path), never `chart` itself.
    fn nearest(&self, name: &str, chart: &str) -> Option<&str> {
        self.charts
            .iter()
            .filter(|(n, dir)| n == name && dir != chart)
            .min_by_key(|(_, dir)| (distance(chart, dir), dir.clone()))
            .map(|(_, dir)| dir.as_str())
    }
}

/// Directory steps from `a` to `b`, both relative to the root.
fn distance(a: &str, b: &str) -> usize {
    let split = |s: &str| -> Vec<String> {
        s.split('/')
            .filter(|p| !p.is_empty())
            .map(String::from)
            .collect()
    };
    let (a, b) = (split(a), split(b));
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    a.len() + b.len() - 2 * common
}

fn slash(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn read_yaml(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    yaml_serde::from_str::<Value>(&text).ok()
}

/// The dependencies a chart declares (Chart.yaml; requirements.yaml for apiVersion v1).
pub fn dependencies(chart_dir: &Path) -> (Vec<Dependency>, Value) {
    let meta = read_yaml(&chart_dir.join("Chart.yaml")).unwrap_or(Value::Null);
    let mut list = meta["dependencies"].clone();
    if meta["apiVersion"] == "v1"
        && let Some(req) = read_yaml(&chart_dir.join("requirements.yaml"))
    {
        list = req["dependencies"].clone();
    }
    let deps = list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| {
            Some(Dependency {
                name: d["name"].as_str()?.to_string(),
                repository: d["repository"].as_str().unwrap_or("").to_string(),
                version: d["version"].as_str().unwrap_or("").to_string(),
                condition: d["condition"]
                    .as_str()
                    .map(|c| {
                        c.split(',')
                            .map(|p| p.trim().to_string())
                            .filter(|p| !p.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect();
    (deps, meta)
}

/// Names of the charts vendored in `charts/`: directories by their Chart.yaml `name`, archives
/// by `helm dependency build`'s file name (`<name>-<version>.tgz`).
fn vendored(chart_dir: &Path) -> (Vec<String>, Vec<String>) {
    let (mut dirs, mut archives) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(chart_dir.join("charts")) else {
        return (dirs, archives);
    };
    for e in entries.flatten() {
        let p = e.path();
        let file = e.file_name().to_string_lossy().into_owned();
        if p.join("Chart.yaml").is_file() {
            if let Some(n) =
                read_yaml(&p.join("Chart.yaml")).and_then(|m| m["name"].as_str().map(String::from))
            {
                dirs.push(n);
            }
        } else if p.is_file() && (file.ends_with(".tgz") || file.ends_with(".tar.gz")) {
            archives.push(file);
        }
    }
    (dirs, archives)
}

fn archive_of(file: &str, name: &str) -> bool {
    file.strip_prefix(name)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// What `chart` (relative to `root`) needs: vendored dependencies are left to helm; a missing
/// one comes from its `file://` path when that is a chart of that name inside the root, else
/// from the nearest chart of that name in `index`.
pub fn resolve(root: &Path, chart: &str, index: &OnceLock<ChartIndex>) -> Resolution {
    let dir = root.join(chart);
    let (deps, meta) = dependencies(&dir);
    let mut out = Resolution {
        library: meta["type"] == "library",
        ..Resolution::default()
    };
    if deps.is_empty() {
        return out;
    }
    let (dirs, archives) = vendored(&dir);
    for d in deps {
        if dirs.contains(&d.name) || archives.iter().any(|a| archive_of(a, &d.name)) {
            continue;
        }
        let by_path = d
            .repository
            .strip_prefix("file://")
            .and_then(|p| within(root, &dir.join(p)))
            .filter(|rel| {
                read_yaml(&root.join(rel).join("Chart.yaml"))
                    .is_some_and(|m| m["name"].as_str() == Some(d.name.as_str()))
            });
        let found = by_path.or_else(|| {
            index
                .get_or_init(|| ChartIndex::of(root))
                .nearest(&d.name, chart)
                .map(String::from)
        });
        // Helm's `condition`: the first path the values set decides; none set, it renders.
        let values = read_yaml(&dir.join("values.yaml")).unwrap_or(Value::Null);
        let decided = d.condition.iter().find_map(|c| {
            values
                .pointer(&condition_pointer(c))
                .and_then(Value::as_bool)
                .map(|on| (c, on))
        });
        match (found, decided) {
            (Some(rel), _) => out.from_root.push((d.name, rel)),
            (None, Some((by, false))) => out.disabled.push(Disabled {
                name: d.name,
                version: d.version,
                by: by.clone(),
                pointers: d.condition.iter().map(|c| condition_pointer(c)).collect(),
            }),
            (None, _) if d.repository.is_empty() => out.missing.push(d.name),
            (None, _) => out.missing.push(format!("{} ({})", d.name, d.repository)),
        }
    }
    out
}

/// `path` relative to `root` when it lies inside it (lexically: `..` is resolved, symlinks
/// are not followed out).
fn within(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut parts: Vec<String> = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Where a dependency goes in a chart copy: `charts/<name>`, or beside a vendored entry that
/// already has that file name (helm goes by the Chart.yaml inside, not the directory).
pub fn slot(chart_copy: &Path, name: &str) -> PathBuf {
    let charts = chart_copy.join("charts");
    let mut slot = charts.join(name);
    let mut n = 1;
    while slot.exists() {
        n += 1;
        slot = charts.join(format!("{name}-{n}"));
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn a_missing_dependency_comes_from_the_nearest_chart_of_that_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // The bitnami layout: the dependency names an OCI registry, the chart is a sibling.
        write(
            root,
            "bitnami/nginx/Chart.yaml",
            "apiVersion: v2\nname: nginx\ndependencies:\n- name: common\n  repository: oci://registry-1.docker.io/bitnamicharts\n  version: 2.x.x\n",
        );
        write(
            root,
            "bitnami/common/Chart.yaml",
            "apiVersion: v2\nname: common\ntype: library\n",
        );
        write(
            root,
            "other/deep/common/Chart.yaml",
            "apiVersion: v2\nname: common\n",
        );
        let index = OnceLock::new();
        let r = resolve(root, "bitnami/nginx", &index);
        assert_eq!(
            r.from_root,
            [("common".to_string(), "bitnami/common".to_string())]
        );
        assert_eq!(r.blocked(), None);
        let lib = resolve(root, "bitnami/common", &index);
        assert!(lib.blocked().is_some_and(|w| w.contains("library chart")));
    }

    #[test]
    fn a_file_url_is_followed_and_a_dependency_found_nowhere_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // `file://../../library/common/` (bjw-s-labs/helm-charts' app-template).
        write(
            root,
            "charts/other/app-template/Chart.yaml",
            "apiVersion: v2\nname: app-template\ndependencies:\n- name: common\n  repository: file://../../library/common/\n- name: redis-ha\n  repository: https://dandydeveloper.github.io/charts/\n",
        );
        write(
            root,
            "charts/library/common/Chart.yaml",
            "apiVersion: v2\nname: common\n",
        );
        let index = OnceLock::new();
        let r = resolve(root, "charts/other/app-template", &index);
        assert_eq!(
            r.from_root,
            [("common".to_string(), "charts/library/common".to_string())]
        );
        assert_eq!(
            r.blocked().as_deref(),
            Some(
                "dependency redis-ha (https://dandydeveloper.github.io/charts/) is not in charts/ and no chart under the root is named redis-ha"
            )
        );
    }

    #[test]
    fn vendored_dependencies_are_left_to_helm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "app/Chart.yaml", "apiVersion: v1\nname: app\n");
        write(
            root,
            "app/requirements.yaml",
            "dependencies:\n- name: common\n  repository: https://x\n- name: redis\n  repository: https://y\n",
        );
        write(root, "app/charts/common-2.31.10.tgz", "");
        write(root, "app/charts/r/Chart.yaml", "name: redis\n");
        let index = OnceLock::new();
        assert_eq!(resolve(root, "app", &index), Resolution::default());
        assert!(!archive_of("commonlib-1.0.0.tgz", "common"));
    }

    #[test]
    fn a_missing_dependency_its_values_disable_gets_a_stand_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        // argo-cd's redis-ha: `condition: redis-ha.enabled`, false in its values.yaml.
        write(
            root,
            "cd/Chart.yaml",
            "apiVersion: v2\nname: cd\ndependencies:\n- name: redis-ha\n  version: 4.38.0\n  repository: https://dandydeveloper.github.io/charts/\n  condition: redis-ha.enabled\n",
        );
        write(root, "cd/values.yaml", "redis-ha:\n  enabled: false\n");
        let r = resolve(root, "cd", &OnceLock::new());
        assert_eq!(r.blocked(), None);
        let d = &r.disabled[0];
        assert_eq!(
            (d.name.as_str(), d.by.as_str()),
            ("redis-ha", "redis-ha.enabled")
        );
        assert!(d.stand_in().contains("name: redis-ha\nversion: 4.38.0\n"));
        let ha: Value = yaml_serde::from_str("redis-ha:\n  enabled: true\n").expect("yaml");
        assert!(d.enabled_by(&ha));
        assert!(!d.enabled_by(&Value::Null));
        // Enabled by default: still missing.
        write(root, "cd/values.yaml", "redis-ha:\n  enabled: true\n");
        assert!(resolve(root, "cd", &OnceLock::new()).blocked().is_some());
    }
}
