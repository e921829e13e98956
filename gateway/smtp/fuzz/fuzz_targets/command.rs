//! Command lines: the line finder and the command parser never panic, and a parsed MAIL/RCPT
//! path re-serialises to something that parses to the same address.
#![no_main]
use cordon_smtp::command::{parse, Command};
use cordon_smtp::dsn;
use cordon_smtp::line::{next_line, LineEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let LineEvent::Line { len } = next_line(rest, cordon_smtp::MAX_COMMAND_LINE) {
        let line = &rest[..len - 2];
        if let Ok(Command::Mail { params, .. } | Command::Rcpt { params, .. }) = parse(line) {
            // The DSN validators see whatever a client can put in a parameter value.
            for v in params.iter().filter_map(|p| p.value.as_deref()) {
                let _ = (dsn::Ret::parse(v), dsn::valid_envid(v));
                let _ = (dsn::valid_orcpt(v, true), dsn::valid_orcpt(v, false));
                if let Some(n) = dsn::Notify::parse(v) {
                    assert_eq!(dsn::Notify::parse(&n.to_param()), Some(n));
                }
            }
        }
        if let Ok(Command::Rcpt { to, .. }) = parse(line) {
            let again = format!("RCPT TO:<{}>", to.address());
            match parse(again.as_bytes()) {
                Ok(Command::Rcpt { to: to2, .. }) => assert_eq!(to.address(), to2.address()),
                other => panic!("{again:?} no longer parses: {other:?}"),
            }
        }
        rest = &rest[len..];
    }
});
