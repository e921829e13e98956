//! PowerShell text, as `exchange-setup` reads its own script back: the reader never panics,
//! whatever it accepts has cmdlet-shaped names and non-empty parameter names on a line inside
//! the text, and the reference table and the rule evaluator take any accepted result without
//! panicking (they refuse with a reason instead).
#![no_main]
use cordonctl::exchange::{eval::Tenant, ps::parse, reference::Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(invocations) = parse(text) else {
        return;
    };
    let lines = text.lines().count().max(1) + 1;
    let table = Table::load().expect("the compiled-in table parses");
    for inv in &invocations {
        assert!(inv.cmdlet.contains('-'), "{inv:?}");
        assert!(inv.line >= 1 && inv.line <= lines, "{inv:?} outside {lines} lines");
        assert!(inv.args.iter().all(|(name, _)| !name.is_empty()), "{inv:?}");
        let _ = table.check(inv);
    }
    let _ = Tenant::default().apply(&invocations);
});
