//! Acceptance 7 of the gateway issue: memory does not grow with traffic. RSS after 10,000
//! messages of mixed size stays within 5% of RSS after the first 100.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use cordon_tests::*;

/// Messages in the run; the load is bounded by count (and each step by `STEP`).
const MESSAGES: usize = 10_000;
const CLIENTS: usize = 4;
const PER_CONNECTION: usize = 50;
const SIZES: [usize; 5] = [1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10];

#[test]
fn rss_is_flat_over_ten_thousand_messages() {
    let sink = Sink::start();
    let mut cfg = Cfg::new(&sink.smarthost());
    cfg.max_sessions = 8;
    cfg.max_message_size = "1MiB".into();
    let gw = Gateway::start(&cfg);
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        SIZES
            .iter()
            .map(|&s| dot_stuff(&make_message(s, "memory")))
            .collect(),
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|w| {
            let (bodies, sent, port) = (Arc::clone(&bodies), Arc::clone(&sent), gw.port);
            std::thread::spawn(move || {
                let mut i = w;
                while sent.load(Ordering::SeqCst) < MESSAGES {
                    let mut c = Client::connect(port);
                    c.hello();
                    for _ in 0..PER_CONNECTION {
                        if sent.fetch_add(1, Ordering::SeqCst) >= MESSAGES {
                            break;
                        }
                        // MAIL, RCPT and DATA pipelined, then the body.
                        c.send(b"MAIL FROM:<a@contoso.com>\r\nRCPT TO:<b@fabrikam.example>\r\nDATA\r\n");
                        for _ in 0..2 {
                            assert_eq!(c.reply().code, 250);
                        }
                        assert_eq!(c.reply().code, 354);
                        c.send(&bodies[i % bodies.len()]);
                        let r = c.reply();
                        assert_eq!(r.code, 250, "{r:?}");
                        i += 1;
                    }
                    c.cmd("QUIT");
                }
            })
        })
        .collect();
    wait_until("the first 100 messages", STEP, || {
        (sent.load(Ordering::SeqCst) >= 100).then_some(())
    });
    let early = gw.rss_kib();
    for w in workers {
        w.join().expect("client thread");
    }
    let late = gw.rss_kib();
    let secs = started.elapsed().as_secs_f64();
    println!("RSS after the first 100 messages: {early} KiB; after {MESSAGES}: {late} KiB ({:+.1}%); {:.0} msg/s", (late as f64 / early as f64 - 1.0) * 100.0, MESSAGES as f64 / secs);
    assert!(
        late as f64 <= early as f64 * 1.05,
        "RSS grew from {early} KiB to {late} KiB"
    );
}
