//! Documents: a file's bytes, the YAML documents in it, a JSON model of each and the byte
//! span of every node. Helm templates are masked first ([`template`]).

pub mod template;
