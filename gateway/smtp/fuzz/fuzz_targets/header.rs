//! The header scanner: never panics, fields are in order, inside the message and inside the
//! header section.
#![no_main]
use cordon_smtp::header::for_each_field;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut last_end = 0;
    let end = for_each_field(data, |f| {
        assert!(f.start >= last_end && f.start < f.end && f.end <= data.len());
        assert!(!f.name.is_empty());
        last_end = f.end;
        let _ = f.unfolded();
    });
    assert!(end <= data.len());
    assert!(last_end <= end);
});
