//! What a CI failure log says went wrong: reading logs as lines with their job and step
//! ([`log`]), the failure signatures of `signatures/*.kdl` ([`signature`]) and matching one
//! against the other ([`scan`]). Plain data in, plain data out: no network, no recipes, no
//! output. `diagnose` and `stats` both build on it.

pub mod log;
pub mod scan;
pub mod signature;
