//! GitHub's REST API, the only network patcher uses: pull requests for `apply` and `fleet`
//! ([`pulls`]), and the read-only Actions client for `stats` and `diagnose --run`
//! ([`actions_api`]). Both take the token from the environment, send it only in the
//! `Authorization` header and redact every message they return. Neither knows what the
//! commands do with the answers. What they share (the agent, the request headers, the
//! answer) is [`client`].

pub mod actions_api;
mod client;
pub mod pulls;
