//! Byte classes of eight bytes at once (SWAR), exact per byte (no carry crosses a byte): the
//! high bit of each byte of a `u64` that is in the class. The dictionary's word-start masks
//! (`dict.rs`) and the keyword matcher's (`words.rs`) share these.

pub(crate) const HI: u64 = 0x8080_8080_8080_8080;
pub(crate) const LO: u64 = 0x0101_0101_0101_0101;
const M7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// Eight bytes of `hay` from `at` (which has eight), first byte lowest.
#[inline(always)]
pub(crate) fn load(hay: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hay[at..at + 8]);
    u64::from_le_bytes(b)
}

/// The high bit of each ASCII byte of `v` in `lo..=hi`.
#[inline(always)]
pub(crate) fn range(v: u64, lo: u8, hi: u8) -> u64 {
    let t = v & M7;
    let ge_lo = t + LO * u64::from(0x80 - lo);
    let gt_hi = t + LO * u64::from(0x7F - hi);
    ge_lo & !gt_hi & !v & HI
}

/// ASCII letters of either case.
#[inline(always)]
pub(crate) fn letters(v: u64) -> u64 {
    range(v | (LO * 0x20), b'a', b'z')
}

#[inline(always)]
pub(crate) fn digits(v: u64) -> u64 {
    range(v, b'0', b'9')
}

/// Whether any byte of `v` is below `n` (at most 0x80): exact as a whole, though the bits
/// it sets do not say which bytes (a borrow can mark the byte after a match).
#[inline(always)]
pub(crate) fn any_below(v: u64, n: u8) -> bool {
    v.wrapping_sub(LO * u64::from(n)) & !v & HI != 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn classes_are_exact_per_byte() {
        for a in 0..=255u8 {
            for b in [
                0u8, b'/', b'0', b'9', b':', b'@', b'A', b'Z', b'[', b'`', b'a', b'z', b'{', 0x80,
                0xFF,
            ] {
                let bytes = [b, a, b, a, a, b, 0, 0xFF];
                let v = u64::from_le_bytes(bytes);
                let want = |f: fn(u8) -> bool| {
                    bytes
                        .iter()
                        .enumerate()
                        .filter(|(_, &x)| f(x))
                        .fold(0u64, |m, (i, _)| m | 0x80 << (8 * i))
                };
                assert_eq!(
                    super::letters(v),
                    want(|x| x.is_ascii_alphabetic()),
                    "{v:x}"
                );
                assert_eq!(super::digits(v), want(|x| x.is_ascii_digit()), "{v:x}");
                assert_eq!(
                    super::any_below(v, 0x21),
                    bytes.iter().any(|&x| x < 0x21),
                    "{v:x}"
                );
            }
        }
    }
}
