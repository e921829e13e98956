//! What a reader does not see, and digits and letters a reader sees as ASCII, folded before
//! the detectors read the text.
//!
//! A card number written `4556<U+200B>7375<U+200B>8689<U+200B>9855` (zero-width spaces
//! between the groups) or in full-width digits (`４５５６ ７３７５ …`, how Japanese text
//! writes numbers and how an IME types them) shows the reader the number and showed the
//! detectors no digits in a row. Before the window ([`crate::text`]) every segment's text
//! goes through [`Fold`]:
//! - invisible format characters are dropped: SOFT HYPHEN, the zero-width space, joiners
//!   and word joiner, the bidirectional marks, embeddings, overrides and isolates, the
//!   invisible operators, ZERO WIDTH NO-BREAK SPACE (the BOM inside text), MONGOLIAN
//!   VOWEL SEPARATOR, the variation selectors and COMBINING ENCLOSING KEYCAP (so the keycap
//!   emoji `4️⃣` reads `4`);
//! - the tag characters (U+E0020 to U+E007E), which mirror ASCII and show nothing, become
//!   that ASCII: text hidden in them ("ASCII smuggling") is read;
//! - the full-width forms of ASCII (U+FF01 to U+FF5E) become ASCII, IDEOGRAPHIC SPACE a
//!   space;
//! - Arabic-Indic and Extended Arabic-Indic digits become `0` to `9`.
//!
//! The same [`fold_char`] is applied to dictionary terms and EDM cells, so a term or a
//! record written in full-width characters matches the text either way.
//!
//! Hand-written: a full NFKC normaliser (`unicode-normalization`) works on `char`
//! iterators with allocation per string and changes far more than the detectors need
//! (ligatures, superscripts, compatibility ideographs); this is a fixed table applied in a
//! streaming pass that looks at sixteen bytes a step for the eight lead bytes these
//! characters have in UTF-8, with a carry of at most four bytes between feeds, so the
//! result never depends on how the text was cut.

use wide::u8x16;

/// What one character becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Folded {
    Keep,
    Drop,
    To(u8),
}

/// The fold of one character (see the module documentation).
pub(crate) fn fold_char(c: char) -> Folded {
    let u = u32::from(c);
    match u {
        0x00AD
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF => Folded::Drop,
        // Variation selectors and the combining keycap: `4️⃣5️⃣5️⃣6️⃣` shows digits.
        0xFE00..=0xFE0F | 0x20E3 | 0xE0100..=0xE01EF => Folded::Drop,
        // Tag characters mirror ASCII invisibly ("ASCII smuggling"): read as that ASCII.
        0xE0020..=0xE007E => Folded::To((u - 0xE0000) as u8),
        0xE0001 | 0xE007F => Folded::Drop,
        0x3000 => Folded::To(b' '),
        // Each arm's range keeps the offset below 0x80.
        0xFF01..=0xFF5E => Folded::To((u - 0xFF01 + 0x21) as u8),
        0x0660..=0x0669 => Folded::To(b'0' + (u - 0x0660) as u8),
        0x06F0..=0x06F9 => Folded::To(b'0' + (u - 0x06F0) as u8),
        _ => Folded::Keep,
    }
}

/// `s` folded, borrowed when nothing in it folds (the usual case).
pub(crate) fn fold_str(s: &str) -> std::borrow::Cow<'_, str> {
    // A lead byte starts a character, so `first` is a char boundary.
    let Some(first) = next_lead(s.as_bytes(), 0) else {
        return std::borrow::Cow::Borrowed(s);
    };
    if !s[first..].chars().any(|c| fold_char(c) != Folded::Keep) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match fold_char(c) {
            Folded::Keep => out.push(c),
            Folded::Drop => {}
            Folded::To(b) => out.push(char::from(b)),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `b` is the first byte of a character that may fold: C2 (U+00AD), D9 and DB (the
/// Arabic-Indic digits), E1 (U+180E), E2 (U+200B to U+206F, U+20E3), E3 (U+3000), EF
/// (U+FE00 to U+FE0F, U+FEFF, the full-width forms), F3 (the tag characters and the
/// supplementary variation selectors).
#[inline(always)]
fn is_lead(b: u8) -> bool {
    matches!(b, 0xC2 | 0xD9 | 0xDB | 0xE1 | 0xE2 | 0xE3 | 0xEF | 0xF3)
}

/// The length of the UTF-8 sequence a lead byte of [`is_lead`] starts.
#[inline(always)]
fn seq_len(lead: u8) -> usize {
    match lead {
        ..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// The first lead byte at or after `i`: sixteen bytes a step while none is `>= 0xC2`.
#[inline]
fn next_lead(data: &[u8], mut i: usize) -> Option<usize> {
    let floor = u8x16::splat(0xC2);
    // Thirty-two bytes a step where neither half has a byte >= 0xC2 (ASCII text), then the
    // half that has one, sixteen at a time.
    while let Some(pair) = data.get(i..i + 32) {
        let a = u8x16::from(<[u8; 16]>::try_from(&pair[..16]).expect("16 bytes"));
        let b = u8x16::from(<[u8; 16]>::try_from(&pair[16..]).expect("16 bytes"));
        let hi = a.max(b);
        if hi.max(floor).simd_eq(hi).to_bitmask() != 0 {
            break;
        }
        i += 32;
    }
    let rest = data.get(i..)?;
    for block in rest.chunks_exact(16) {
        let v = u8x16::from(<[u8; 16]>::try_from(block).expect("16 bytes"));
        let mut m = v.max(floor).simd_eq(v).to_bitmask();
        while m != 0 {
            let p = m.trailing_zeros() as usize;
            if is_lead(block[p]) {
                return Some(i + p);
            }
            m &= m - 1;
        }
        i += 16;
    }
    (i..data.len()).find(|&p| is_lead(data[p]))
}

/// The fold of the complete sequence `s`: a lead byte of [`is_lead`] and its one to three
/// continuation bytes, which the caller checked. Every such sequence is valid UTF-8 (these
/// leads have no overlong or surrogate forms), so it is decoded by hand: prose stops here at
/// every dash and curly quote (E2 80 9x), and `str::from_utf8` cost more than the rest.
#[inline]
fn fold_seq(s: &[u8]) -> Option<Folded> {
    let u = match *s {
        [a, b] => (u32::from(a & 0x1F) << 6) | u32::from(b & 0x3F),
        [a, b, c] => (u32::from(a & 0x0F) << 12) | (u32::from(b & 0x3F) << 6) | u32::from(c & 0x3F),
        [a, b, c, d] => {
            (u32::from(a & 0x07) << 18)
                | (u32::from(b & 0x3F) << 12)
                | (u32::from(c & 0x3F) << 6)
                | u32::from(d & 0x3F)
        }
        _ => return None,
    };
    char::from_u32(u).map(fold_char)
}

/// The streaming fold of one segment's text.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fold {
    /// A character the previous feed ended inside.
    carry: [u8; 4],
    n: usize,
}

impl Fold {
    pub(crate) fn reset(&mut self) {
        self.n = 0;
    }

    /// Feeds `data`, handing the folded text to `out` in runs.
    pub(crate) fn feed(&mut self, mut data: &[u8], out: &mut dyn FnMut(&[u8])) {
        if self.n > 0 {
            let want = seq_len(self.carry[0]);
            while self.n < want {
                match data.first() {
                    Some(&b) if b & 0xC0 == 0x80 => {
                        self.carry[self.n] = b;
                        self.n += 1;
                        data = &data[1..];
                    }
                    Some(_) => break,
                    None => return,
                }
            }
            let n = std::mem::take(&mut self.n);
            let carried = self.carry;
            emit(&carried[..n], n == want, out);
        }
        let mut start = 0;
        let mut i = 0;
        while let Some(p) = next_lead(data, i) {
            let len = seq_len(data[p]);
            let end = (p + len).min(data.len());
            // Continuation bytes present so far.
            let cont = data[p + 1..end]
                .iter()
                .take_while(|&&b| b & 0xC0 == 0x80)
                .count();
            if p + 1 + cont == data.len() && cont + 1 < len {
                // Cut inside a character: keep it for the next feed.
                out(&data[start..p]);
                self.carry[..=cont].copy_from_slice(&data[p..]);
                self.n = cont + 1;
                return;
            }
            match (cont + 1 == len)
                .then(|| fold_seq(&data[p..p + len]))
                .flatten()
            {
                Some(Folded::Drop) => {
                    out(&data[start..p]);
                    start = p + len;
                }
                Some(Folded::To(b)) => {
                    out(&data[start..p]);
                    out(&[b]);
                    start = p + len;
                }
                Some(Folded::Keep) => {}
                // Not a whole character: the lead byte stays, the rest is read as any text.
                None => {
                    i = p + 1;
                    continue;
                }
            }
            i = p + len;
        }
        if start < data.len() {
            out(&data[start..]);
        }
    }

    /// Ends the segment: a character cut short at its end goes out as it is.
    pub(crate) fn finish(&mut self, out: &mut dyn FnMut(&[u8])) {
        let n = std::mem::take(&mut self.n);
        if n > 0 {
            let carried = self.carry;
            out(&carried[..n]);
        }
    }
}

/// A carried sequence completed by the next feed (`whole`), or cut short by a byte that
/// does not continue it.
fn emit(s: &[u8], whole: bool, out: &mut dyn FnMut(&[u8])) {
    match whole.then(|| fold_seq(s)).flatten() {
        Some(Folded::Drop) => {}
        Some(Folded::To(b)) => out(&[b]),
        _ => out(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold_all(data: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut f = Fold::default();
        let mut out = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(std::iter::once(&data.len())) {
            f.feed(&data[last..c], &mut |r| out.extend_from_slice(r));
            last = c;
        }
        f.finish(&mut |r| out.extend_from_slice(r));
        out
    }

    /// The reference: `fold_char` over the characters of valid UTF-8, invalid bytes kept.
    fn reference(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.utf8_chunks() {
            out.extend_from_slice(fold_str(chunk.valid()).as_bytes());
            out.extend_from_slice(chunk.invalid());
        }
        out
    }

    #[test]
    fn folds_what_readers_do_not_see_and_full_width_forms() {
        let cases: &[(&str, &str)] = &[
            (
                "4556\u{200b}7375\u{200c}8689\u{200d}9855",
                "4556737586899855",
            ),
            ("4556\u{2060}7375\u{feff}8689\u{ad}9855", "4556737586899855"),
            ("\u{202e}9855\u{202c} \u{200e}x\u{2066}y\u{2069}", "9855 xy"),
            ("４５５６　７３７５－８６８９", "4556 7375-8689"),
            ("ＳＳＮ：５３６", "SSN:536"),
            ("\u{661}\u{662}\u{663} \u{6f4}\u{6f5}", "123 45"),
            ("4\u{fe0f}\u{20e3}5\u{fe0f}\u{20e3} x\u{fe0e}", "45 x"),
            ("a\u{e0034}\u{e0035}\u{e0035}\u{e0036}\u{e007f}b", "a4556b"),
            ("Grüße – café ½ 日本語 ｶﾀｶﾅ", "Grüße – café ½ 日本語 ｶﾀｶﾅ"),
        ];
        for (input, want) in cases {
            assert_eq!(
                fold_all(input.as_bytes(), &[]),
                want.as_bytes(),
                "{input:?}"
            );
            assert_eq!(fold_str(input), *want);
        }
    }

    /// Any cut of the text gives what one feed gives, on random mixtures of folded
    /// characters, other non-ASCII text, ASCII and invalid bytes.
    #[test]
    fn cuts_do_not_change_the_fold() {
        let pieces: &[&[u8]] = &[
            "\u{200b}".as_bytes(),
            "\u{feff}".as_bytes(),
            "５".as_bytes(),
            "\u{3000}".as_bytes(),
            "\u{ad}".as_bytes(),
            "\u{663}".as_bytes(),
            "\u{180e}".as_bytes(),
            "\u{e0035}".as_bytes(),
            "\u{fe0f}\u{20e3}".as_bytes(),
            b"\xf3\xa0\x80",
            "é".as_bytes(),
            "日".as_bytes(),
            "\u{2028}".as_bytes(),
            b"4556 ",
            b"abcdefghijklmnopqrstu",
            b"\xe2\x80",
            b"\xef",
            b"\xc2",
            b"\x80",
        ];
        let mut next = crate::testing::picker(0x853c_49e6_748f_ea9b_u64);
        for _ in 0..3_000 {
            let mut data = Vec::new();
            while data.len() < 200 {
                data.extend_from_slice(pieces[next(pieces.len())]);
            }
            let whole = fold_all(&data, &[]);
            assert_eq!(whole, reference(&data), "{data:?}");
            let mut cuts: Vec<usize> = (0..1 + next(6)).map(|_| next(data.len() + 1)).collect();
            cuts.sort_unstable();
            assert_eq!(fold_all(&data, &cuts), whole, "{data:?} cut at {cuts:?}");
            let bytes: Vec<usize> = (1..data.len()).collect();
            assert_eq!(fold_all(&data, &bytes), whole, "{data:?} byte by byte");
        }
    }
}
