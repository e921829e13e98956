//! No false 250 (issue 12, item 1): every downstream step x every class of reply a broken or
//! hostile smart host can give. The sender must never see a 2xx for a message that the smart
//! host did not accept with a 2xx after the whole body; a refusal is relayed (4xx/5xx as given)
//! or becomes a 4xx, and a smart host that only is slow still gets the message through.
//!
//! The matrix is printed: one row per step, one column per fault, each cell the sender's last
//! reply (`G` greeting, `E` EHLO, `M` MAIL, `R` RCPT, `D` DATA, `F` the message) and `*` where
//! the smart host accepted the message.

use std::time::{Duration, Instant};

use cordon_tests::faulty::{Fault, FaultySmarthost, Step};
use cordon_tests::{dot_stuff, Cfg, Client, Gateway};

/// Short gateway timeouts, so a silent step costs a second, not minutes.
const SHORT: &str = "1s";

fn faults() -> Vec<(&'static str, Fault)> {
    let r = |s: &str| Fault::Reply(s.to_string());
    vec![
        ("250", r("250 2.0.0 ok\r\n")),
        ("220", r("220 2.0.0 go ahead\r\n")),
        ("354", r("354 go on\r\n")),
        ("451", r("451 4.3.0 try later\r\n")),
        ("554", r("554 5.7.1 refused\r\n")),
        ("250-ml", r("250-fine\r\n250 2.0.0 also fine\r\n")),
        ("250/554", r("250-first\r\n554 5.0.0 second\r\n")),
        ("2x250", r("250 2.0.0 ok\r\n250 2.0.0 again\r\n")),
        ("garbage", r("hello there\r\n")),
        ("silence", Fault::Silence),
        ("close", Fault::Close),
        ("delay", Fault::Delay(Duration::from_millis(300))),
    ]
}

/// One transaction as far as it goes: the label of the last reply the sender got.
fn transaction(port: u16, body: &[u8]) -> (String, bool) {
    let mut c = Client::connect(port);
    let say = |c: &mut Client, line: Option<&str>, tag: &str, want: u16| {
        if let Some(l) = line {
            c.send(format!("{l}\r\n").as_bytes());
        }
        match c.try_reply() {
            Some(r) if r.code == want || (want == 250 && r.code / 100 == 2) => Ok(()),
            Some(r) => Err(format!("{tag}{}", r.code)),
            None => Err(format!("{tag}-")),
        }
    };
    let steps = [
        (None, "G", 220),
        (Some("EHLO client.test.example"), "E", 250),
        (Some("MAIL FROM:<alice@contoso.com>"), "M", 250),
        (Some("RCPT TO:<bob@fabrikam.example>"), "R", 250),
        (Some("DATA"), "D", 354),
    ];
    for (line, tag, want) in steps {
        if let Err(cell) = say(&mut c, line, tag, want) {
            return (cell, false);
        }
    }
    c.send(&dot_stuff(body));
    match c.try_reply() {
        Some(r) => (format!("F{}", r.code), r.code / 100 == 2),
        None => ("F-".into(), false),
    }
}

fn matrix(chunking: bool) {
    let host = FaultySmarthost::start(chunking);
    let mut cfg = Cfg::new(&host.smarthost());
    cfg.timeouts = [
        "connect",
        "greeting",
        "command",
        "mail",
        "rcpt",
        "data_init",
        "data_block",
        "data_term",
    ]
    .iter()
    .map(|k| (k.to_string(), SHORT.to_string()))
    .collect();
    let gw = Gateway::start(&cfg);
    let body =
        b"From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: matrix\r\n\r\nhello\r\n";
    let faults = faults();
    let t0 = Instant::now();
    println!(
        "\ndownstream fault matrix ({}):",
        if chunking { "BDAT" } else { "DATA" }
    );
    println!(
        "{:<9}{}",
        "step",
        faults
            .iter()
            .map(|(n, _)| format!("{n:>9}"))
            .collect::<String>()
    );
    let mut violations = Vec::new();
    for step in Step::ALL {
        let mut row = format!("{:<9}", format!("{step:?}"));
        for (name, fault) in &faults {
            host.set(step, Some(fault.clone()));
            let before = host.accepted();
            let (cell, sender_ok) = transaction(gw.port, body);
            let accepted = host.accepted() > before;
            row += &format!(
                "{:>9}",
                format!("{cell}{}", if accepted { "*" } else { "" })
            );
            if sender_ok && !accepted {
                violations.push(format!(
                    "{step:?} x {name}: the sender got {cell} but the smart host accepted nothing"
                ));
            }
            // A smart host that is only slow, or answers with a valid multi-line 2xx, gets
            // the message through.
            let benign = matches!(fault, Fault::Delay(_))
                || (*name == "250-ml"
                    && matches!(step, Step::Ehlo | Step::Mail | Step::Rcpt | Step::Final));
            if benign && !(sender_ok && accepted) {
                violations.push(format!(
                    "{step:?} x {name}: a benign reply must deliver, got {cell}"
                ));
            }
        }
        println!("{row}");
    }
    println!(
        "({} cells in {:?})",
        Step::ALL.len() * faults.len(),
        t0.elapsed()
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // The one 2xx the sender may see for a DATA reply other than 354 is none at all.
    let logs = gw.logs();
    assert!(
        logs.contains("instead of 354") || chunking,
        "a non-354 DATA reply is logged as such:\n{logs}"
    );
}

#[test]
fn no_false_250_over_data() {
    matrix(false);
}

#[test]
fn no_false_250_over_bdat() {
    matrix(true);
}
