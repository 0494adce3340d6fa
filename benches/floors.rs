//! `cargo bench --bench floors -- --list FILE [--each] [--runs N]`: the event-parse floors
//! for issue 10 — how long a bare YAML event parser takes over the same bytes `patcher`
//! plans. FILE names one YAML file per line. Every file is read (and, under `templates/`,
//! Helm-masked, as patcher does) before timing; then each parser streams every event of
//! every file, in one thread, and the median of the runs is printed:
//!
//! - `libyaml-rs`: libyaml's event parser, each event deleted at once (nothing kept);
//! - `saphyr-parser`: saphyr-parser 0.3.4 (YAML 1.2, spans), events dropped at once;
//! - `patcher-events`: patcher's event source, its adapter over saphyr-parser (owned event
//!   list, byte spans, anchor names);
//! - `patcher-events-libyaml`: the same adapter over libyaml-rs, patcher's source before
//!   (tests/support/libyaml_events.rs, the differential tests' oracle).
//!
//! Lines are `floor NAME files=N bytes=B median_ms=M mb_per_s=R events_per_s=V errors=E`
//! (events counted once, by patcher's source; one line per file with
//! `--each`, `each NAME PATH ...`), read by scripts/bench.sh. `errors` counts files the parser
//! rejected: where the two parsers disagree, the files are listed (a conformance difference).

use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use libyaml_rs as sys;

#[path = "../tests/support/libyaml_events.rs"]
mod libyaml_events;

/// One event parser over one text: `false` when it rejects the text.
type Parse = fn(&str) -> bool;

struct Input {
    path: PathBuf,
    text: String,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut list, mut each, mut runs) = (None, false, 7usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--list" => list = args.next(),
            "--each" => each = true,
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(7),
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    let Some(list) = list else {
        eprintln!("usage: cargo bench --bench floors -- --list FILE [--each] [--runs N]");
        std::process::exit(1);
    };
    let inputs: Vec<Input> = std::fs::read_to_string(&list)
        .unwrap_or_else(|e| panic!("cannot read {list}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let path = PathBuf::from(l.trim());
            let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{l}: {e}"));
            if path.components().any(|c| c.as_os_str() == "templates")
                && let Ok(m) = patcher::doc::template::mask(&text)
            {
                text = m.text;
            }
            Input { path, text }
        })
        .collect();

    let parsers: [(&str, Parse); 4] = [
        ("libyaml-rs", libyaml_events),
        ("saphyr-parser", saphyr_events),
        ("patcher-events", |t| {
            std::hint::black_box(patcher::doc::events::parse(t)).is_ok()
        }),
        ("patcher-events-libyaml", |t| {
            std::hint::black_box(libyaml_events::parse(t)).is_ok()
        }),
    ];
    if each {
        for input in &inputs {
            for (name, parse) in parsers {
                let one = std::slice::from_ref(input);
                let (d, errors) = time(runs, one, parse);
                print_row(
                    &format!("each {name} {}", input.path.display()),
                    one,
                    d,
                    errors,
                );
            }
        }
        return;
    }
    let mut rejected: Vec<(&str, Vec<&PathBuf>)> = Vec::new();
    for (name, parse) in parsers {
        let (d, errors) = time(runs, &inputs, parse);
        print_row(&format!("floor {name}"), &inputs, d, errors);
        rejected.push((
            name,
            inputs
                .iter()
                .filter(|i| !parse(&i.text))
                .map(|i| &i.path)
                .collect(),
        ));
    }
    let (libyaml, saphyr) = (&rejected[0].1, &rejected[1].1);
    for p in libyaml.iter().filter(|p| !saphyr.contains(p)) {
        println!("disagree libyaml-rs-rejects {}", p.display());
    }
    for p in saphyr.iter().filter(|p| !libyaml.contains(p)) {
        println!("disagree saphyr-parser-rejects {}", p.display());
    }
}

fn time(runs: usize, inputs: &[Input], parse: Parse) -> (Duration, usize) {
    let errors = inputs.iter().filter(|i| !parse(&i.text)).count(); // also warms up
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            for i in inputs {
                std::hint::black_box(parse(&i.text));
            }
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], errors)
}

fn print_row(label: &str, inputs: &[Input], d: Duration, errors: usize) {
    let bytes: usize = inputs.iter().map(|i| i.text.len()).sum();
    let events: usize = inputs
        .iter()
        .map(|i| patcher::doc::events::parse(&i.text).map_or(0, |e| e.len()))
        .sum();
    let secs = d.as_secs_f64();
    println!(
        "{label} files={} bytes={bytes} median_ms={:.3} mb_per_s={:.1} events_per_s={:.0} \
         errors={errors}",
        inputs.len(),
        secs * 1e3,
        bytes as f64 / 1e6 / secs,
        events as f64 / secs
    );
}

/// Streams libyaml's events to the end; `false` on a syntax error.
fn libyaml_events(text: &str) -> bool {
    let mut parser = Box::new(MaybeUninit::<sys::yaml_parser_t>::uninit());
    // SAFETY: the parser is initialized before use, lives in a box that does not move, reads
    // `text` (which outlives it) and is deleted before return; each event is deleted once.
    unsafe {
        let p = parser.as_mut_ptr();
        if sys::yaml_parser_initialize(p).fail {
            return false;
        }
        sys::yaml_parser_set_encoding(p, sys::YAML_UTF8_ENCODING);
        sys::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64);
        let ok = loop {
            let mut ev = MaybeUninit::<sys::yaml_event_t>::uninit();
            if sys::yaml_parser_parse(p, ev.as_mut_ptr()).fail {
                break false;
            }
            let end = (*ev.as_ptr()).type_ == sys::YAML_STREAM_END_EVENT;
            sys::yaml_event_delete(ev.as_mut_ptr());
            if end {
                break true;
            }
        };
        sys::yaml_parser_delete(p);
        ok
    }
}

/// Streams saphyr-parser's events (with spans) to the end; `false` on a syntax error.
fn saphyr_events(text: &str) -> bool {
    for ev in saphyr_parser::Parser::new_from_str(text) {
        match ev {
            Ok((saphyr_parser::Event::StreamEnd, _)) => return true,
            Ok(e) => {
                std::hint::black_box(e);
            }
            Err(_) => return false,
        }
    }
    true
}
