//! The session's SMTP behaviour, in memory (issue 14): every verb's happy path and refusals,
//! pipelining order, the smuggling vectors, each downstream failure point and each timeout,
//! with exact reply and enhanced codes. Time is paused, so a 5-minute timeout costs nothing;
//! the behaviour tests in `tests/` prove the same against real peers over real sockets.

mod harness;

use harness::{config, message, Fault, Harness, Peer, Step};

fn plain() -> Harness {
    Harness::start(&config(""), Peer::default())
}

// ---- greeting, EHLO, HELO, the small verbs -------------------------------------------------

#[tokio::test(start_paused = true)]
async fn ehlo_lists_what_the_gateway_and_the_smart_host_offer() {
    let mut h = Harness::start(&config(""), Peer::default().offering("DSN"));
    let greeting = h.client.reply().await;
    assert_eq!(greeting.code, 220);
    assert!(
        greeting.text().contains("dlp1.test.example ESMTP"),
        "{greeting:?}"
    );
    let r = h.client.cmd("EHLO client.test.example").await;
    assert_eq!(r.code, 250);
    let kw: Vec<&str> = r.lines[1..].iter().map(String::as_str).collect();
    assert_eq!(
        kw,
        [
            "PIPELINING",
            "SIZE 1048576",
            "8BITMIME",
            "ENHANCEDSTATUSCODES",
            "DSN",
            "CHUNKING"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn ehlo_omits_dsn_and_smtputf8_the_smart_host_lacks() {
    let mut h = plain();
    let r = h.client.ehlo().await;
    assert!(!r
        .lines
        .iter()
        .any(|l| l == "DSN" || l == "SMTPUTF8" || l == "STARTTLS"));
}

#[tokio::test(start_paused = true)]
async fn helo_gets_one_line() {
    let mut h = plain();
    h.client.reply().await;
    let r = h.client.cmd("HELO client.test.example").await;
    assert_eq!((r.code, r.lines.len()), (250, 1), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn noop_help_vrfy_auth_and_unknown() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.expect("NOOP", 250, "2.0.0").await;
    h.client.expect("HELP", 214, "2.0.0").await;
    h.client.expect("VRFY bob", 502, "5.5.1").await;
    h.client.expect("EXPN staff", 502, "5.5.1").await;
    h.client.expect("AUTH PLAIN", 503, "5.5.1").await;
    h.client.expect("FROB", 500, "5.5.2").await;
}

#[tokio::test(start_paused = true)]
async fn starttls_without_a_certificate_is_not_implemented() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.expect("STARTTLS", 502, "5.5.1").await;
}

#[tokio::test(start_paused = true)]
async fn quit_says_bye_and_closes() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.expect("QUIT", 221, "2.0.0").await;
    assert!(h.client.closed().await);
}

#[tokio::test(start_paused = true)]
async fn a_control_octet_in_a_command_is_refused() {
    let mut h = plain();
    h.client.reply().await;
    h.client.send(b"EHLO a\x00b\r\n").await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (501, "5.5.2"), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn an_over_long_line_is_refused_not_split() {
    let mut h = plain();
    h.client.ehlo().await;
    let r = h.client.cmd(&format!("NOOP {}", "x".repeat(600))).await;
    assert_eq!((r.code, r.enhanced()), (500, "5.5.2"), "{r:?}");
    // The next command is read as a command of its own.
    h.client.expect("NOOP", 250, "2.0.0").await;
}

#[tokio::test(start_paused = true)]
async fn twenty_errors_end_the_session() {
    let mut h = plain();
    h.client.ehlo().await;
    for _ in 0..19 {
        assert_eq!(h.client.cmd("FROB").await.code, 500);
    }
    h.client.expect("FROB", 500, "5.5.2").await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.7.0"), "{r:?}");
    assert!(h.client.closed().await);
}

// ---- MAIL ------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn mail_before_ehlo_is_out_of_order() {
    let mut h = plain();
    h.client.reply().await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 503, "5.5.1")
        .await;
}

#[tokio::test(start_paused = true)]
async fn mail_is_relayed_with_the_smart_hosts_reply() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com> SIZE=1000", 250, "2.1.0")
        .await;
    assert!(h
        .peer
        .commands()
        .contains(&"MAIL FROM:<alice@contoso.com> SIZE=1000".to_string()));
}

#[tokio::test(start_paused = true)]
async fn nested_mail_is_refused() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 503, "5.5.1")
        .await;
}

#[tokio::test(start_paused = true)]
async fn mail_parameters_are_checked() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client
        .expect("MAIL FROM:<a@contoso.com> SIZE=99999999", 552, "5.3.4")
        .await;
    h.client
        .expect("MAIL FROM:<a@contoso.com> SIZE=lots", 501, "5.5.4")
        .await;
    h.client
        .expect("MAIL FROM:<a@contoso.com> FROB=1", 555, "5.5.4")
        .await;
    h.client
        .expect("MAIL FROM:<a@contoso.com> SIZE=1 SIZE=2", 501, "5.5.4")
        .await;
    h.client
        .expect("MAIL FROM:<jörg@contoso.com>", 553, "5.6.7")
        .await;
    h.client.send(b"MAIL FROM:<j\xf6rg@contoso.com>\r\n").await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (553, "5.6.7"), "{r:?}");
    h.client
        .expect("MAIL FROM:alice@contoso.com", 501, "5.1.7")
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_mail_is_relayed_as_given() {
    let peer = Peer::default().with(Step::Mail, Fault::Reply("451 4.3.0 try later\r\n"));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 451, "4.3.0")
        .await;
}

// ---- RCPT ------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn rcpt_before_mail_is_out_of_order() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client
        .expect("RCPT TO:<bob@fabrikam.example>", 503, "5.5.1")
        .await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_recipient_is_relayed_and_the_others_still_count() {
    let peer = Peer::default().with(Step::Rcpt, Fault::Reply("550 5.1.1 no such user\r\n"));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client
        .expect("RCPT TO:<nobody@fabrikam.example>", 550, "5.1.1")
        .await;
    // No valid recipient: DATA is refused by the gateway itself.
    h.client.expect("DATA", 554, "5.5.1").await;
}

#[tokio::test(start_paused = true)]
async fn dsn_parameters_need_a_smart_host_with_dsn() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client
        .expect("RCPT TO:<bob@fabrikam.example> NOTIFY=NEVER", 555, "5.5.4")
        .await;
}

#[tokio::test(start_paused = true)]
async fn dsn_parameters_pass_to_a_smart_host_with_dsn_and_rcpt_lines_may_be_longer() {
    let mut h = Harness::start(&config(""), Peer::default().offering("DSN"));
    h.client.ehlo().await;
    h.client
        .expect(
            "MAIL FROM:<alice@contoso.com> RET=HDRS ENVID=abc",
            250,
            "2.1.0",
        )
        .await;
    let orcpt = format!("rfc822;{}@fabrikam.example", "b".repeat(450));
    let line = format!("RCPT TO:<bob@fabrikam.example> NOTIFY=FAILURE ORCPT={orcpt}");
    assert!(line.len() > 512);
    h.client.expect(&line, 250, "2.1.5").await;
    h.client
        .expect(
            "RCPT TO:<bob@fabrikam.example> NOTIFY=SOMETIMES",
            501,
            "5.5.4",
        )
        .await;
}

#[tokio::test(start_paused = true)]
async fn the_thousand_and_first_recipient_is_deferred() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend_from_slice(format!("RCPT TO:<u{i}@fabrikam.example>\r\n").as_bytes());
    }
    h.client.send(&batch).await;
    for _ in 0..1000 {
        assert_eq!(h.client.reply().await.code, 250);
    }
    h.client
        .expect("RCPT TO:<one-more@fabrikam.example>", 452, "4.5.3")
        .await;
}

// ---- DATA, BDAT, RSET ------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn data_delivers_the_body_byte_identical_after_the_added_headers() {
    let mut h = plain();
    h.client.ehlo().await;
    let body = message("hello world");
    let r = h.client.transaction(&body, 250).await;
    assert_eq!(r.enhanced(), "2.0.0");
    let got = h.peer.accepted();
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .body
        .starts_with(b"Received: from client.test.example"));
    assert!(
        got[0].body.ends_with(&body),
        "the body is relayed unchanged"
    );
    let stamp = String::from_utf8_lossy(&got[0].body);
    assert!(stamp.contains("\r\nX-Cordon-Inspected: "), "{stamp}");
}

#[tokio::test(start_paused = true)]
async fn data_without_an_envelope_is_refused() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.expect("DATA", 503, "5.5.1").await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.expect("DATA", 554, "5.5.1").await;
}

#[tokio::test(start_paused = true)]
async fn bdat_is_relayed_as_bdat_to_a_chunking_smart_host() {
    let mut h = Harness::start(&config(""), Peer::default().offering("CHUNKING"));
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    let body = message("chunked");
    let (a, b) = body.split_at(20);
    h.client
        .send(format!("BDAT {}\r\n", a.len()).as_bytes())
        .await;
    h.client.send(a).await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (250, "2.0.0"), "{r:?}");
    h.client
        .send(format!("BDAT {} LAST\r\n", b.len()).as_bytes())
        .await;
    h.client.send(b).await;
    let r = h.client.reply().await;
    assert_eq!(r.code, 250, "{r:?}");
    assert!(h.peer.accepted()[0].body.ends_with(&body));
    assert!(h.peer.commands().iter().any(|c| c.starts_with("BDAT ")));
}

#[tokio::test(start_paused = true)]
async fn bdat_is_converted_to_data_for_a_smart_host_without_chunking() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    let body = message("converted");
    h.client
        .send(format!("BDAT {} LAST\r\n", body.len()).as_bytes())
        .await;
    h.client.send(&body).await;
    assert_eq!(h.client.reply().await.code, 250);
    assert!(h.peer.commands().iter().any(|c| c == "DATA"));
    assert!(h.peer.accepted()[0].body.ends_with(&body));
}

#[tokio::test(start_paused = true)]
async fn data_after_bdat_is_refused() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    h.client.send(b"BDAT 5\r\nhello").await;
    assert_eq!(h.client.reply().await.code, 250);
    h.client.expect("DATA", 503, "5.5.1").await;
}

#[tokio::test(start_paused = true)]
async fn rset_is_relayed_and_clears_the_transaction() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.expect("RSET", 250, "2.0.0").await;
    h.client
        .expect("RCPT TO:<bob@fabrikam.example>", 503, "5.5.1")
        .await;
    assert!(h.peer.commands().contains(&"RSET".to_string()));
}

#[tokio::test(start_paused = true)]
async fn a_message_over_the_size_limit_is_refused_and_the_session_goes_on() {
    let mut h = plain();
    h.client.ehlo().await;
    let mut big = message("big");
    big.extend(
        std::iter::repeat_n(b'x', 998)
            .chain(*b"\r\n")
            .cycle()
            .take(1_100_000),
    );
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    let r = h.client.data(&big, 552).await;
    assert_eq!(r.enhanced(), "5.3.4");
    assert!(h.peer.accepted().is_empty());
    h.client.transaction(&message("after"), 250).await;
}

// ---- pipelining and smuggling ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_pipelined_group_is_answered_in_order() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client
        .send(b"MAIL FROM:<alice@contoso.com>\r\nRCPT TO:<b@fabrikam.example>\r\nNOOP\r\nRCPT TO:<c@fabrikam.example>\r\nDATA\r\n")
        .await;
    let mut got = Vec::new();
    for _ in 0..5 {
        let r = h.client.reply().await;
        got.push((r.code, r.enhanced().to_string()));
    }
    assert_eq!(
        got,
        [
            (250, "2.1.0".to_string()),
            (250, "2.1.5".to_string()),
            (250, "2.0.0".to_string()),
            (250, "2.1.5".to_string()),
            (354, "2.0.0".to_string())
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_command_pipelined_after_data_ends_the_session() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    h.client
        .send(b"DATA\r\nMAIL FROM:<evil@contoso.com>\r\n")
        .await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (554, "5.5.0"), "{r:?}");
    assert!(h.client.closed().await);
}

#[tokio::test(start_paused = true)]
async fn a_command_pipelined_after_quit_ends_the_session() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.send(b"QUIT\r\nNOOP\r\n").await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (554, "5.5.0"), "{r:?}");
}

/// Each end-of-data variant a smuggling attack uses: refused, nothing relayed, closed.
async fn smuggled(terminator: &[u8]) {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    assert_eq!(h.client.cmd("DATA").await.code, 354);
    let mut body = b"Subject: x\r\n\r\nfirst".to_vec();
    body.extend_from_slice(terminator);
    body.extend_from_slice(b"MAIL FROM:<evil@contoso.com>\r\nRCPT TO:<victim@fabrikam.example>\r\nDATA\r\nforged\r\n.\r\n");
    h.client.send(&body).await;
    let r = h.client.reply().await;
    assert_eq!(
        (r.code, r.enhanced()),
        (550, "5.5.2"),
        "{terminator:?}: {r:?}"
    );
    assert!(h.client.closed().await);
    assert!(h.peer.accepted().is_empty(), "{terminator:?}");
}

#[tokio::test(start_paused = true)]
async fn smuggling_lf_dot_lf() {
    smuggled(b"\n.\n").await;
}

#[tokio::test(start_paused = true)]
async fn smuggling_lf_dot_crlf() {
    smuggled(b"\n.\r\n").await;
}

#[tokio::test(start_paused = true)]
async fn smuggling_cr_dot_crlf() {
    smuggled(b"\r.\r\n").await;
}

#[tokio::test(start_paused = true)]
async fn smuggling_crlf_dot_cr() {
    smuggled(b"\r\n.\r").await;
}

#[tokio::test(start_paused = true)]
async fn a_bare_lf_in_a_command_ends_the_session() {
    let mut h = plain();
    h.client.reply().await;
    h.client.send(b"EHLO client.test.example\n").await;
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (550, "5.5.2"), "{r:?}");
    assert!(h.client.closed().await);
}

// ---- downstream failures ---------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_smart_host_that_refuses_the_session_means_421_at_the_greeting() {
    let peer = Peer::default().with(Step::Greeting, Fault::Reply("554 5.3.2 go away\r\n"));
    let mut h = Harness::start(&config(""), peer);
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.4.0"), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn a_smart_host_that_never_greets_means_421_after_the_greeting_timeout() {
    let peer = Peer::default().with(Step::Greeting, Fault::Silence);
    let mut h = Harness::start(&config(""), peer);
    let t0 = tokio::time::Instant::now();
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.4.0"), "{r:?}");
    // The 30 s default, not RFC 5321's 5 minutes (paused time: no real second passed).
    assert_eq!(t0.elapsed().as_secs(), 30);
}

#[tokio::test(start_paused = true)]
async fn a_250_to_data_is_never_a_250_for_the_message() {
    let peer = Peer::default().with(Step::Data, Fault::Reply("250 2.0.0 sure\r\n"));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    let r = h.client.transaction(&message("lost?"), 421).await;
    assert_eq!(r.enhanced(), "4.4.2");
    assert!(h.peer.accepted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_data_command_is_relayed_as_given() {
    let peer = Peer::default().with(Step::Data, Fault::Reply("554 5.7.1 not from you\r\n"));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    let r = h.client.transaction(&message("refused"), 554).await;
    assert_eq!(r.enhanced(), "5.7.1");
    // The session goes on, the smart host's transaction reset.
    assert!(h.peer.commands().contains(&"RSET".to_string()));
    h.client.expect("NOOP", 250, "2.0.0").await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_message_is_relayed_as_given() {
    let peer = Peer::default().with(Step::Final, Fault::Reply("552 5.2.2 mailbox full\r\n"));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    let r = h.client.transaction(&message("full"), 552).await;
    assert_eq!(r.enhanced(), "5.2.2");
}

#[tokio::test(start_paused = true)]
async fn a_smart_host_that_closes_mid_data_means_421() {
    let peer = Peer::default().with(Step::Final, Fault::CloseAfter(10));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    let r = h.client.transaction(&message("cut"), 421).await;
    assert_eq!(r.enhanced(), "4.4.2");
    assert!(h.client.closed().await);
}

#[tokio::test(start_paused = true)]
async fn a_smart_host_silent_after_the_message_means_421_after_data_term() {
    let peer = Peer::default().with(Step::Final, Fault::Silence);
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    let t0 = tokio::time::Instant::now();
    let r = h.client.transaction(&message("silence"), 421).await;
    assert_eq!(r.enhanced(), "4.4.2");
    assert_eq!(t0.elapsed().as_secs(), 600, "data_term's 10 minutes");
}

#[tokio::test(start_paused = true)]
async fn garbage_from_the_smart_host_means_421() {
    let peer = Peer::default().with(Step::Rcpt, Fault::Reply("hello?\r\n"));
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client
        .expect("RCPT TO:<bob@fabrikam.example>", 421, "4.4.2")
        .await;
    assert!(h.client.closed().await);
}

// ---- timeouts and shutdown -------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_idle_client_is_cut_after_the_idle_timeout() {
    let mut h = plain();
    h.client.ehlo().await;
    let t0 = tokio::time::Instant::now();
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.4.2"), "{r:?}");
    assert_eq!(t0.elapsed().as_secs(), 300);
}

#[tokio::test(start_paused = true)]
async fn a_dripping_command_is_cut_at_the_command_deadline() {
    let cfg = config("\n[timeouts]\ncommand_line = \"10s\"\nidle = \"5m\"\n");
    let mut h = Harness::start(&cfg, Peer::default());
    h.client.ehlo().await;
    let t0 = tokio::time::Instant::now();
    for b in b"NOOP and more" {
        if !h.client.try_send(&[*b]).await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if t0.elapsed().as_secs() > 12 {
            break;
        }
    }
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.4.2"), "{r:?}");
    assert!(r.text().contains("command deadline"), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn a_dripping_message_is_cut_at_the_data_deadline() {
    let cfg = config("\n[timeouts]\ndata_phase = \"20s\"\nmin_data_rate = 1000\n");
    let mut h = Harness::start(&cfg, Peer::default());
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    assert_eq!(h.client.cmd("DATA").await.code, 354);
    // 10 octets a second, far under the 1,000 the allowance credits.
    for _ in 0..30 {
        if !h.client.try_send(b"xxxxxxxxxx").await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.4.2"), "{r:?}");
    assert!(r.text().contains("data deadline"), "{r:?}");
    assert!(h.peer.accepted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_session_deadline_ends_a_session_kept_alive_with_noop() {
    let cfg = config("\n[timeouts]\nsession = \"1m\"\n");
    let mut h = Harness::start(&cfg, Peer::default());
    h.client.ehlo().await;
    let last = loop {
        if !h.client.try_send(b"NOOP\r\n").await {
            break h.client.reply().await;
        }
        let r = h.client.reply().await;
        if r.code != 250 {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    };
    assert_eq!((last.code, last.enhanced()), (421, "4.4.2"), "{last:?}");
    assert!(last.text().contains("session time limit"), "{last:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_tells_a_session_waiting_after_mail_421() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.phase.send(cordon_proxy::shutdown::Phase::Drain).unwrap();
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.3.2"), "{r:?}");
    assert!(h.client.closed().await);
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_message_in_flight_finish() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    assert_eq!(h.client.cmd("DATA").await.code, 354);
    h.client
        .send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        .await;
    h.phase.send(cordon_proxy::shutdown::Phase::Drain).unwrap();
    tokio::task::yield_now().await;
    h.client.send(b"second half\r\n.\r\n").await;
    assert_eq!(h.client.reply().await.code, 250);
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.3.2"), "{r:?}");
    // At the drain deadline even a message in flight hears the 421.
    let mut h = plain();
    h.client.ehlo().await;
    h.client.mail_from("alice@contoso.com").await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    assert_eq!(h.client.cmd("DATA").await.code, 354);
    h.phase.send(cordon_proxy::shutdown::Phase::Stop).unwrap();
    let r = h.client.reply().await;
    assert_eq!((r.code, r.enhanced()), (421, "4.3.2"), "{r:?}");
}

// ---- memory ----------------------------------------------------------------------------------

/// The downstream leg's reply buffer is the slot's, lent and given back: after a clean end and
/// after a broken leg, the slot that returns to the pool holds it whole.
#[tokio::test(start_paused = true)]
async fn the_downstream_buffer_goes_back_to_the_slot() {
    let full = cordon_proxy::downstream::REPLY_BUFFER;
    let mut h = plain();
    h.client.ehlo().await;
    h.client.transaction(&message("buffer"), 250).await;
    h.client.expect("QUIT", 221, "2.0.0").await;
    h.session.await.unwrap();
    assert_eq!(h.pool.try_lease().unwrap().down_in.len(), full);

    let peer = Peer::default().with(Step::Mail, Fault::Close);
    let mut h = Harness::start(&config(""), peer);
    h.client.ehlo().await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 421, "4.4.2")
        .await;
    h.session.await.unwrap();
    assert_eq!(h.pool.try_lease().unwrap().down_in.len(), full);
}

/// A session whose task is dropped mid-transaction (cancelled) gives the buffer back as well,
/// so the next connection on that slot allocates nothing.
#[tokio::test(start_paused = true)]
async fn a_cancelled_session_gives_the_downstream_buffer_back() {
    let mut h = plain();
    h.client.ehlo().await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 250, "2.1.0")
        .await;
    h.session.abort();
    assert!(h.session.await.unwrap_err().is_cancelled());
    let slot = h.pool.try_lease().expect("the slot is back in the pool");
    assert_eq!(slot.down_in.len(), cordon_proxy::downstream::REPLY_BUFFER);
}
