//! Config text, as `config apply` receives it over the config port: the parser never panics,
//! and every refusal locates each problem inside the text (line 1..=lines+1, column >= 1) so
//! the administrator's `file:line:column: key: reason` always points somewhere real.
#![no_main]
use std::path::Path;

use cordon_config::{parse, Error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text, Path::new("/fuzz/cordon.toml")) {
        Ok(_) => {}
        Err(Error::Invalid { diagnostics, .. }) => {
            assert!(!diagnostics.is_empty(), "a refusal without a reason");
            let lines = text.lines().count() + 1;
            for d in &diagnostics {
                assert!(d.line >= 1 && d.line <= lines, "{d} is outside {lines} lines");
                assert!(d.column >= 1, "{d}");
                assert!(!d.message.is_empty(), "{d}");
            }
        }
        Err(e @ Error::Read { .. }) => panic!("parse did I/O: {e}"),
    }
});
