//! Message buffers in size classes (issue 16), in memory: a transaction takes the smallest free
//! class that holds its `SIZE=`, a message that outgrows its class moves to a larger free one
//! (its scan with it), and when no class can take it the sender hears `452 4.3.1`: never a 250,
//! never an allocation, nothing relayed.

mod harness;

use harness::{config, message, Harness, Peer};

/// Two classes: 64 KiB buffers and one of `max_message_size` (1 MiB in the harness).
fn classes(list: &str, extra: &str) -> String {
    config(extra).replace(
        "max_sessions = 4",
        &format!("max_sessions = 4\nslot_classes = {list}"),
    )
}

/// A clean message of about `kib` KiB.
fn big(subject: &str, kib: usize) -> Vec<u8> {
    let mut m = message(subject);
    let line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n";
    while m.len() < kib << 10 {
        m.extend_from_slice(line);
    }
    m
}

/// Occupies every free buffer of at least `size` octets, as other sessions would.
fn hold(h: &Harness, size: usize) -> Vec<cordon_proxy::pool::MessageLease> {
    std::iter::from_fn(|| h.pool.lease_message(size, &*h.inspectors, 0)).collect()
}

fn in_use(h: &Harness) -> Vec<usize> {
    h.pool.classes().iter().map(|c| c.in_use).collect()
}

#[tokio::test(start_paused = true)]
async fn a_size_no_free_class_holds_is_refused_with_452_before_anything_is_relayed() {
    let mut h = Harness::start(
        &classes(r#"["2 x 64KiB", "1 x 1MiB"]"#, ""),
        Peer::default(),
    );
    h.client.ehlo().await;
    let held = hold(&h, 1 << 20);
    assert_eq!(in_use(&h), vec![0, 1]);
    h.client
        .expect("MAIL FROM:<alice@contoso.com> SIZE=500000", 452, "4.3.1")
        .await;
    assert!(
        !h.peer.commands().iter().any(|c| c.starts_with("MAIL")),
        "{:?}",
        h.peer.commands()
    );
    // A message that fits the small class goes through meanwhile.
    h.client
        .expect("MAIL FROM:<alice@contoso.com> SIZE=1000", 250, "2.1.0")
        .await;
    assert_eq!(in_use(&h), vec![1, 1]);
    h.client.rcpt_to("bob@fabrikam.example").await;
    h.client.data(&message("small"), 250).await;
    assert_eq!(
        in_use(&h),
        vec![0, 1],
        "the transaction gave its buffer back"
    );
    // Once the large buffer is free again, the large SIZE is served.
    drop(held);
    h.client
        .expect("MAIL FROM:<alice@contoso.com> SIZE=500000", 250, "2.1.0")
        .await;
    assert_eq!(in_use(&h), vec![0, 1]);
    h.client.expect("RSET", 250, "2.0.0").await;
    assert_eq!(in_use(&h), vec![0, 0]);
    assert_eq!(h.peer.accepted().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_third_largest_message_is_refused_while_two_are_in_flight() {
    // The issue's case at harness scale: two buffers of max_message_size, both taken by other
    // sessions' large messages; a third large SIZE waits (452), a small message does not.
    let mut h = Harness::start(
        &classes(r#"["2 x 64KiB", "2 x 1MiB"]"#, ""),
        Peer::default(),
    );
    h.client.ehlo().await;
    let two = hold(&h, 1 << 20);
    assert_eq!(two.len(), 2);
    h.client
        .expect("MAIL FROM:<alice@contoso.com> SIZE=1048576", 452, "4.3.1")
        .await;
    h.client.transaction(&message("small"), 250).await;
    assert_eq!(h.peer.accepted().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_message_without_size_that_outgrows_its_class_moves_and_arrives_whole() {
    let mut h = Harness::start(
        &classes(r#"["1 x 64KiB", "1 x 1MiB"]"#, ""),
        Peer::default(),
    );
    h.client.ehlo().await;
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 250, "2.1.0")
        .await;
    assert_eq!(in_use(&h), vec![1, 0], "no SIZE: the smallest class first");
    h.client.rcpt_to("bob@fabrikam.example").await;
    let body = big("grows", 300);
    h.client.data(&body, 250).await;
    let got = h.peer.accepted();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].body.ends_with(&body),
        "the relayed body ends with what was sent"
    );
    assert_eq!(in_use(&h), vec![0, 0]);
}

#[tokio::test(start_paused = true)]
async fn a_message_that_outgrows_its_class_with_no_larger_free_gets_452_and_nothing_is_relayed() {
    let mut h = Harness::start(
        &classes(r#"["1 x 64KiB", "1 x 1MiB"]"#, ""),
        Peer::default(),
    );
    h.client.ehlo().await;
    let held = hold(&h, 1 << 20);
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 250, "2.1.0")
        .await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    let r = h.client.data(&big("too big for now", 300), 452).await;
    assert_eq!(r.enhanced(), "4.3.1", "{r:?}");
    assert!(h.peer.accepted().is_empty(), "nothing relayed");
    assert_eq!(in_use(&h), vec![0, 1]);
    // The session goes on: a message that fits is delivered, and with the large buffer free
    // the large one is too.
    h.client.transaction(&message("fits"), 250).await;
    drop(held);
    h.client.transaction(&big("now it fits", 300), 250).await;
    assert_eq!(h.peer.accepted().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_scan_moves_with_the_message() {
    // Card numbers in the first 64 KiB, then enough text to move the message to the large
    // buffer: the verdict still sees the cards read before the move.
    let rule = "[[rule]]\nname = \"block-cards\"\nmatch = \"credit_card\"\nmin_count = 2\naction = \"block\"\nreply = \"550 5.7.1 cards\"\n";
    let mut h = Harness::start(
        &classes(r#"["1 x 64KiB", "1 x 1MiB"]"#, rule),
        Peer::default(),
    );
    h.client.ehlo().await;
    let mut body = message("cards");
    body.extend_from_slice(b"card 4556 5260 1815 9081 and 4539 1488 0343 6467\r\n");
    while body.len() < 300 << 10 {
        body.extend_from_slice(b"nothing more to see here, only words and words again\r\n");
    }
    h.client
        .expect("MAIL FROM:<alice@contoso.com>", 250, "2.1.0")
        .await;
    h.client.rcpt_to("bob@fabrikam.example").await;
    let r = h.client.data(&body, 550).await;
    assert_eq!(r.enhanced(), "5.7.1", "{r:?}");
    assert!(h.peer.accepted().is_empty());
}
