//! Helpers for the unit tests.

/// xorshift64: reproducible test inputs from a seed.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// [`xorshift`] as picks below a bound: `next(n)` is in `0..n`.
pub(crate) fn picker(seed: u64) -> impl FnMut(usize) -> usize {
    let mut r = xorshift(seed);
    move |n| (r() % n as u64) as usize
}
