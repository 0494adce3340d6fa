//! The GitHub API stand-in the branch/PR and fleet tests use, as a program: serves pull
//! requests for any `owner/name` on 127.0.0.1 until stdin closes, then prints every request it
//! received (with its time since start) and the pull requests per repository.
//!
//! ```sh
//! cargo run --example fake_github -- TOKEN   # prints the URL, e.g. http://127.0.0.1:40123
//! GITHUB_API_URL=<url> GITHUB_REPOSITORY=acme/demo GITHUB_TOKEN=TOKEN patcher apply --push --pr
//! # fleet runs: a repository that answers 403, a 429 with Retry-After: 2 on the first write
//! cargo run --example fake_github -- TOKEN --forbid acme/locked --retry-after-once 2
//! ```

#[path = "../tests/git_support/fake_github.rs"]
mod fake_github;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut token = "test-token".to_string();
    let mut options = fake_github::Options {
        any_repository: true,
        ..fake_github::Options::default()
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--forbid" => options.forbidden.extend(args.next()),
            "--retry-after-once" => {
                options.retry_after_once = args.next().and_then(|v| v.parse().ok());
            }
            _ => token = a,
        }
    }
    let start = Instant::now();
    let gh = fake_github::FakeGitHub::start_with(&token, options);
    println!("{}", gh.url);
    let _ = std::io::stdout().flush();
    // Serve until stdin says "quit" or closes; print the calls so far on every other line.
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "quit" {
            break;
        }
        for r in gh.requests() {
            println!(
                "{:>8.3}s {}",
                r.at.duration_since(start).as_secs_f64(),
                r.call()
            );
        }
        let mut per_repo: BTreeMap<String, usize> = BTreeMap::new();
        for pr in gh.prs() {
            *per_repo
                .entry(pr["repository"].as_str().unwrap_or("?").to_string())
                .or_insert(0) += 1;
        }
        println!("pull requests: {}", gh.prs().len());
        for (repo, n) in per_repo {
            println!("  {repo}: {n}");
        }
        let _ = std::io::stdout().flush();
    }
}
