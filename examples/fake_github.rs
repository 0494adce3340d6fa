//! The GitHub API stand-in the branch/PR tests use, as a program: serves one repository
//! (`acme/demo`) on 127.0.0.1 until stdin closes, then prints every request it received.
//!
//! ```sh
//! cargo run --example fake_github -- TOKEN   # prints the URL, e.g. http://127.0.0.1:40123
//! GITHUB_API_URL=<url> GITHUB_REPOSITORY=acme/demo GITHUB_TOKEN=TOKEN patcher apply --push --pr
//! ```

#[path = "../tests/git_support/fake_github.rs"]
mod fake_github;

use std::io::{BufRead, Write};

fn main() {
    let token = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "test-token".into());
    let gh = fake_github::FakeGitHub::start(&token);
    println!("{}", gh.url);
    let _ = std::io::stdout().flush();
    // Serve until stdin says "quit" or closes; print the calls so far on every other line.
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "quit" {
            break;
        }
        for r in gh.requests() {
            println!("{}", r.call());
        }
        println!("pull requests: {}", gh.prs().len());
        let _ = std::io::stdout().flush();
    }
}
