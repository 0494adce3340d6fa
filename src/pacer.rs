//! One pacer for every GitHub API write; a fleet run shares one across its repositories.
//! GitHub's content-creation limits are per token, not per repository, so the repositories'
//! writes share one clock. Mutating calls are serialized and at least `interval` apart (1 s by
//! default, GitHub's advice); a `Retry-After` or an exhausted `x-ratelimit-reset` pauses every
//! later call; pull requests opened in the last hour are capped. What cannot wait (a cap
//! reached, a reset too far away) fails fast with [`DEFERRED`], so the fleet reports it as
//! deferred and a `--resume` picks it up.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// GitHub: "make requests for a single user or client ID serially... wait at least one second
/// between each request" for mutating calls.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
/// Well under GitHub's ~500 content-creating requests per hour (a PR is several calls).
pub const DEFAULT_MAX_PRS_PER_HOUR: usize = 50;
/// The longest pause the pacer sits out; a rate limit that resets later defers the rest.
pub const MAX_PAUSE: Duration = Duration::from_secs(120);
/// How an error the pacer raised starts: the work was deferred, not refused.
pub const DEFERRED: &str = "deferred: ";
/// Overrides the interval (milliseconds), for tests that cannot sit out seconds per call.
pub const INTERVAL_ENV: &str = "PATCHER_FLEET_WRITE_INTERVAL_MS";

const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    max_prs_per_hour: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// When the last mutating call's answer arrived.
    last_write: Option<Instant>,
    /// No call before this (a `Retry-After`, a rate limit reset).
    not_before: Option<Instant>,
    /// A rate limit that resets too far away: every later call is deferred, with this reason.
    exhausted: Option<String>,
    /// When each pull request of the last hour was opened.
    opened: VecDeque<Instant>,
}

/// A caller's turn to send one request; for a mutating call it holds every other writer back
/// until it is dropped (after the answer arrived).
pub struct Turn<'a> {
    state: Option<MutexGuard<'a, State>>,
    pacer: &'a Pacer,
}

impl Pacer {
    pub fn new(interval: Duration, max_prs_per_hour: usize) -> Pacer {
        Pacer {
            interval,
            max_prs_per_hour,
            state: Mutex::new(State::default()),
        }
    }

    /// The default interval, or [`INTERVAL_ENV`] when set.
    pub fn from_env(max_prs_per_hour: usize) -> Pacer {
        let interval = std::env::var(INTERVAL_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(DEFAULT_INTERVAL, Duration::from_millis);
        Pacer::new(interval, max_prs_per_hour)
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another thread panicked mid-call; the times stay valid.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request may be sent. Mutating calls are also spaced and serialized.
    pub fn turn(&self, mutating: bool) -> Result<Turn<'_>, String> {
        let mut st = self.lock();
        if let Some(why) = &st.exhausted {
            return Err(format!("{DEFERRED}{why}"));
        }
        let mut ready = st.not_before;
        if mutating && let Some(last) = st.last_write {
            let next = last + self.interval;
            ready = Some(ready.map_or(next, |r| r.max(next)));
        }
        if let Some(at) = ready {
            let now = Instant::now();
            if at > now {
                if mutating {
                    // Holding the lock while waiting is the point: the writers queue up.
                    std::thread::sleep(at - now);
                } else {
                    drop(st);
                    std::thread::sleep(at - now);
                    st = self.lock();
                }
            }
        }
        Ok(Turn {
            state: mutating.then_some(st),
            pacer: self,
        })
    }

    /// Books one pull request against the hourly cap, or says it must wait.
    pub fn reserve_pr(&self) -> Result<(), String> {
        let mut st = self.lock();
        let now = Instant::now();
        while st
            .opened
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            st.opened.pop_front();
        }
        if st.opened.len() >= self.max_prs_per_hour {
            return Err(format!(
                "{DEFERRED}{} pull requests were opened in the last hour (--max-prs-per-hour); run again with --resume later",
                st.opened.len()
            ));
        }
        st.opened.push_back(now);
        Ok(())
    }

    /// Records what an answer says about the rate limits (`headers` as sent, any case).
    fn note(&self, st: &mut State, status: u16, headers: &[(String, String)]) {
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.trim())
        };
        let now = Instant::now();
        let mut pause: Option<Duration> = None;
        if (status == 403 || status == 429)
            && let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok())
        {
            pause = Some(Duration::from_secs(secs));
        }
        if header("x-ratelimit-remaining") == Some("0")
            && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<u64>().ok())
        {
            let unix_now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let wait = Duration::from_secs(reset.saturating_sub(unix_now));
            pause = Some(pause.map_or(wait, |p| p.max(wait)));
            if wait > MAX_PAUSE {
                st.exhausted = Some(format!(
                    "the GitHub API rate limit is exhausted until {reset} (unix time); run again with --resume after that"
                ));
            }
        }
        if let Some(p) = pause {
            let until = now + p.min(MAX_PAUSE);
            st.not_before = Some(st.not_before.map_or(until, |n| n.max(until)));
        }
    }
}

impl Turn<'_> {
    /// What the answer said; call once per request, before the turn ends.
    pub fn answered(&mut self, status: u16, headers: &[(String, String)]) {
        match self.state.as_mut() {
            Some(st) => self.pacer.note(st, status, headers),
            None => {
                let mut st = self.pacer.lock();
                self.pacer.note(&mut st, status, headers);
            }
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(st) = self.state.as_mut() {
            st.last_write = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutating_turns_are_spaced_by_the_interval() {
        let pacer = Pacer::new(Duration::from_millis(80), 10);
        let start = Instant::now();
        for _ in 0..3 {
            let _turn = pacer.turn(true).unwrap();
        }
        assert!(start.elapsed() >= Duration::from_millis(160));
    }

    #[test]
    fn reads_are_not_spaced() {
        let pacer = Pacer::new(Duration::from_secs(5), 10);
        drop(pacer.turn(true).unwrap());
        let start = Instant::now();
        drop(pacer.turn(false).unwrap());
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn retry_after_pauses_every_later_call() {
        let pacer = Pacer::new(Duration::ZERO, 10);
        let mut turn = pacer.turn(false).unwrap();
        turn.answered(429, &[("Retry-After".into(), "1".into())]);
        drop(turn);
        let start = Instant::now();
        drop(pacer.turn(false).unwrap());
        assert!(start.elapsed() >= Duration::from_millis(900));
    }

    #[test]
    fn a_far_reset_defers_the_rest() {
        let pacer = Pacer::new(Duration::ZERO, 10);
        let far = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        let mut turn = pacer.turn(true).unwrap();
        turn.answered(
            403,
            &[
                ("x-ratelimit-remaining".into(), "0".into()),
                ("x-ratelimit-reset".into(), far.to_string()),
            ],
        );
        drop(turn);
        // The pause is capped, and the next call fails fast as deferred.
        let err = pacer.turn(true).err().unwrap();
        assert!(err.starts_with(DEFERRED), "{err}");
    }

    #[test]
    fn an_exhausted_limit_that_resets_soon_is_waited_out() {
        let pacer = Pacer::new(Duration::ZERO, 10);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let reset = now.as_secs() + 2;
        let mut turn = pacer.turn(true).unwrap();
        turn.answered(
            403,
            &[
                ("X-RateLimit-Remaining".into(), "0".into()),
                ("X-RateLimit-Reset".into(), reset.to_string()),
            ],
        );
        drop(turn);
        let start = Instant::now();
        drop(pacer.turn(false).unwrap());
        // Whole seconds: the reset is 1 to 2 s away.
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn the_hourly_cap_defers_further_pull_requests() {
        let pacer = Pacer::new(Duration::ZERO, 2);
        assert!(pacer.reserve_pr().is_ok());
        assert!(pacer.reserve_pr().is_ok());
        let err = pacer.reserve_pr().unwrap_err();
        assert!(
            err.starts_with(DEFERRED) && err.contains("--max-prs-per-hour"),
            "{err}"
        );
    }
}
