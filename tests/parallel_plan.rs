//! Planning files on several threads changes nothing but the time: the corpus planned on one
//! thread and on four gives the same outcome (every change, op, site, error and warning, in
//! the same order) and the same report, byte for byte.

mod common;

use patcher::engine::{self, RunOptions};
use patcher::recipe;
use patcher::render::RenderMode;
use patcher::report::{self, Color};

fn serial_and_parallel(recipes_dir: &str) -> (String, String, usize) {
    let corpus = common::corpus();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(recipes_dir);
    let recipes = recipe::load(&[dir]).expect("bench recipes load");
    let opts = RunOptions {
        render: RenderMode::Never,
        ..RunOptions::default()
    };
    let render = |threads| {
        let outcome = engine::run_on_threads(&corpus, &recipes, &opts, threads);
        let (stdout, stderr) = report::text(&outcome, Color::Never);
        let changed = outcome.changes.len();
        (format!("{outcome:#?}\n{stdout}\n{stderr}"), changed)
    };
    let (serial, changed) = render(1);
    let (parallel, _) = render(4);
    (serial, parallel, changed)
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn edit_set_planned_in_parallel_matches_the_serial_plan_byte_for_byte() {
    let (serial, parallel, changed) = serial_and_parallel("benches/edit_set");
    // Issue 10's edit set: 9 values files and 152 workflows change.
    assert_eq!(changed, 161);
    assert!(
        serial == parallel,
        "parallel plan differs from the serial one"
    );
}

#[test]
#[cfg_attr(
    not(has_corpus),
    ignore = "needs corpus: ../shared/corpus (clone this repository beside shared/)"
)]
fn template_and_values_set_planned_in_parallel_matches_the_serial_plan_byte_for_byte() {
    // benches/recipes: every chart template, values file and workflow of the corpus.
    let (serial, parallel, changed) = serial_and_parallel("benches/recipes");
    assert!(changed > 100, "only {changed} files changed");
    assert!(
        serial == parallel,
        "parallel plan differs from the serial one"
    );
}
