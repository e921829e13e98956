//! Downstream replies: the parser never panics, and what it accepts formats and re-parses to the
//! same reply.
#![no_main]
use cordon_smtp::reply::parse_reply;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((reply, used))) = parse_reply(data) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        reply.write_enhanced(&mut out);
        let (again, n) = parse_reply(&out).expect("our own reply parses").expect("complete");
        assert_eq!(n, out.len());
        assert_eq!(again.code, reply.code);
        assert_eq!(again.lines.len(), reply.lines.len());
    }
});
