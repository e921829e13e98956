//! One module per command group; `main.rs` parses the command line and calls into them.
//! Each prints a human form or, with `--json`, JSON.

pub(crate) mod appliance;
pub(crate) mod audit;
pub(crate) mod config;
pub(crate) mod edm;
pub(crate) mod exchange_setup;
pub(crate) mod fingerprint;
pub(crate) mod incidents;
pub(crate) mod journal;
pub(crate) mod log;
pub(crate) mod policy;
pub(crate) mod repeats;
pub(crate) mod scan;
pub(crate) mod status;
pub(crate) mod tls;
pub(crate) mod trace;
pub(crate) mod update;
