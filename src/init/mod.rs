//! `patcher init`: finds a repository's charts and workflows, fills in the catalogue's
//! parameters from them, and proposes the catalogue recipes that would change something.

pub mod discover;
pub mod propose;
