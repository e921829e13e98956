//! Cell normalisation by column type, the same on the administrator's workstation (table
//! cells, `cordonctl edm hash`) and on the appliance (text found near a primary value), so a
//! value written another way in a message hashes like the table's cell:
//!
//! - `digits`: ASCII digits only (`4556 5260-1815` → `45565260 1815` → `455652601815`).
//! - `name`: letters and digits lower-cased (Unicode), every other run of characters one
//!   space (`  Mary-Ann  O'NEIL ` → `mary ann o neil`).
//! - `date`: `YYYYMMDD` from ISO (`1980-03-12`), day-first or month-first slashed and dotted
//!   dates, two-digit years, and English month names (`12 March 1980`, `Mar 12, 1980`).
//! - `email`: trimmed, lower-cased.
//! - `code`: letters and digits only, upper-cased (`sw1a 1aa` → `SW1A1AA`; IBANs, postcodes).

use serde::Deserialize;

/// Longest normalised cell, in bytes: a name of several words or an e-mail address fits;
/// a longer cell is refused at hash time rather than silently cut.
pub const MAX_CELL_BYTES: usize = 128;

/// How a column's cells are written and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Digits,
    Name,
    Date,
    Email,
    Code,
}

impl ColumnType {
    /// Every type, in tag order (the tag is part of each cell's hash and of the bundle).
    pub const ALL: [ColumnType; 5] = [
        ColumnType::Digits,
        ColumnType::Name,
        ColumnType::Date,
        ColumnType::Email,
        ColumnType::Code,
    ];

    pub fn tag(self) -> u8 {
        self as u8
    }

    pub fn from_tag(tag: u8) -> Option<ColumnType> {
        Self::ALL.get(usize::from(tag)).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Digits => "digits",
            ColumnType::Name => "name",
            ColumnType::Date => "date",
            ColumnType::Email => "email",
            ColumnType::Code => "code",
        }
    }
}

/// How a table's slashed or dotted dates with a day and a month both up to 12 are read. In a
/// message both readings are tried (the writer's habit is unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    /// `12/03/1980` is 12 March (most of Europe).
    #[default]
    Dmy,
    /// `03/12/1980` is 12 March (United States).
    Mdy,
}

/// A normalised cell: at most [`MAX_CELL_BYTES`], on the stack.
#[derive(Clone, Copy)]
pub struct Norm {
    buf: [u8; MAX_CELL_BYTES],
    len: usize,
}

// Holds cell text: never printed.
impl std::fmt::Debug for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Norm({} bytes)", self.len)
    }
}

impl Norm {
    pub const fn new() -> Norm {
        Norm {
            buf: [0; MAX_CELL_BYTES],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends; `false` (and nothing appended) when it would not fit.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        if self.len + bytes.len() > MAX_CELL_BYTES {
            return false;
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        true
    }

    fn push_char(&mut self, c: char) -> bool {
        let mut b = [0u8; 4];
        self.push(c.encode_utf8(&mut b).as_bytes())
    }
}

impl Default for Norm {
    fn default() -> Self {
        Norm::new()
    }
}

/// Why a table cell cannot be normalised (reported with its row and column by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellFault {
    /// Longer than [`MAX_CELL_BYTES`] once normalised.
    TooLong,
    /// A `date` cell that no supported format reads.
    NotADate,
}

/// Normalises one table cell. An empty result means the cell is empty (not hashed).
pub fn normalise(kind: ColumnType, order: DateOrder, cell: &str) -> Result<Norm, CellFault> {
    // As the message text is (`crate::fold`): full-width forms as ASCII, no invisible
    // characters, so a record typed either way matches the text either way.
    let folded = crate::fold::fold_str(cell);
    let cell: &str = &folded;
    let mut out = Norm::new();
    let ok = match kind {
        ColumnType::Digits => cell
            .bytes()
            .filter(u8::is_ascii_digit)
            .all(|d| out.push(&[d])),
        ColumnType::Name => name_into(cell, &mut out),
        ColumnType::Email => cell
            .trim()
            .chars()
            .flat_map(char::to_lowercase)
            .all(|c| out.push_char(c)),
        ColumnType::Code => cell
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_uppercase)
            .all(|c| out.push_char(c)),
        ColumnType::Date => {
            if cell.trim().is_empty() {
                return Ok(out);
            }
            let words = words_of(cell);
            match parse_date(&words, order) {
                Some((ymd, used)) if used == words.len() => {
                    push_ymd(&mut out, ymd);
                    true
                }
                _ => return Err(CellFault::NotADate),
            }
        }
    };
    if ok {
        Ok(out)
    } else {
        Err(CellFault::TooLong)
    }
}

/// Case and whitespace folding of a name into `out`; `false` when it does not fit.
pub(crate) fn name_into(text: &str, out: &mut Norm) -> bool {
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && out.len > 0 && !out.push(b" ") {
                return false;
            }
            gap = false;
            for l in c.to_lowercase() {
                if !out.push_char(l) {
                    return false;
                }
            }
        } else {
            gap = true;
        }
    }
    true
}

/// A date as year, month, day.
pub(crate) type Ymd = (u16, u8, u8);

pub(crate) fn push_ymd(out: &mut Norm, (y, m, d): Ymd) {
    let mut b = [0u8; 8];
    let mut v = u32::from(y) * 10_000 + u32::from(m) * 100 + u32::from(d);
    for i in (0..8).rev() {
        b[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.push(&b);
}

/// One run of letters and digits in text, with the separator that follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub text: &'a str,
    /// Byte offset in the text it came from.
    pub at: usize,
}

/// The letter-and-digit runs of `text` (at most [`MAX_CELL_WORDS`] for a cell).
pub(crate) fn words_of(text: &str) -> Vec<Word<'_>> {
    let mut v = Vec::new();
    for_words(text, |w| {
        v.push(w);
        v.len() < MAX_CELL_WORDS
    });
    v
}

/// Words read from one cell for a date: a date has at most four (`12th of March 1980`).
const MAX_CELL_WORDS: usize = 8;

/// Calls `f` for each letter-and-digit run of `text` until it returns `false`.
pub(crate) fn for_words<'a>(text: &'a str, mut f: impl FnMut(Word<'a>) -> bool) {
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            if !f(Word {
                text: &text[s..i],
                at: s,
            }) {
                return;
            }
        }
    }
    if let Some(s) = start {
        f(Word {
            text: &text[s..],
            at: s,
        });
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_name(w: &str) -> Option<u8> {
    if w.len() < 3 || w.len() > 9 {
        return None;
    }
    let mut lower = [0u8; 9];
    for (i, b) in w.bytes().enumerate() {
        lower[i] = b.to_ascii_lowercase();
    }
    let w = &lower[..w.len()];
    // `sept` is the one common abbreviation longer than three letters.
    MONTHS
        .iter()
        .position(|m| m.as_bytes() == w || (w.len() == 3 && m.as_bytes().starts_with(w)))
        .or_else(|| (w == b"sept").then_some(8))
        .map(|i| i as u8 + 1)
}

fn number(w: &str, min: usize, max: usize) -> Option<u32> {
    if w.len() < min || w.len() > max || !w.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    w.parse().ok()
}

/// A day written `12`, `12th`, `1st`.
fn day(w: &str) -> Option<u8> {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &w[digits.len()..];
    // Without allocating: a hit's row matching asks this of every word near the hit.
    if !suffix.is_empty()
        && !["st", "nd", "rd", "th"]
            .iter()
            .any(|s| suffix.eq_ignore_ascii_case(s))
    {
        return None;
    }
    number(digits, 1, 2).map(|d| d as u8)
}

/// Two-digit years pivot at 50: `12/03/80` is 1980, `01/02/03` is 2003.
fn year(w: &str) -> Option<u16> {
    match w.len() {
        4 => number(w, 4, 4).map(|y| y as u16),
        2 => number(w, 2, 2).map(|y| {
            if y >= 50 {
                1900 + y as u16
            } else {
                2000 + y as u16
            }
        }),
        _ => None,
    }
}

fn valid((y, m, d): Ymd) -> Option<Ymd> {
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    ((1..=days).contains(&d) && (1000..=2999).contains(&y)).then_some((y, m, d))
}

/// Reads a date from the first words of `w` (skipping `of`), the numeric order resolved by
/// `order`; returns it and how many words it used.
pub(crate) fn parse_date(w: &[Word<'_>], order: DateOrder) -> Option<(Ymd, usize)> {
    dates(w, |ymd, used, first| {
        if first == Some(order) || first.is_none() {
            Some((ymd, used))
        } else {
            None
        }
    })
}

/// Every reading of a date at the start of `w`: `f` gets the date, the words used, and for
/// an ambiguous numeric date the order it assumed (`None`: unambiguous). Stops at the first
/// `Some` that `f` returns.
pub(crate) fn dates<T>(
    w: &[Word<'_>],
    mut f: impl FnMut(Ymd, usize, Option<DateOrder>) -> Option<T>,
) -> Option<T> {
    let text = |i: usize| w.get(i).map(|x| x.text);
    let a = text(0)?;
    // ISO and year-first: 1980-03-12, 1980/3/12.
    if let (Some(y), Some(m), Some(d)) = (
        number(a, 4, 4).map(|y| y as u16),
        text(1).and_then(|t| number(t, 1, 2)),
        text(2).and_then(|t| number(t, 1, 2)),
    ) {
        if let Some(ymd) = valid((y, m as u8, d as u8)) {
            return f(ymd, 3, None);
        }
    }
    // ISO basic: 19800312.
    if a.len() == 8 {
        if let Some(n) = number(a, 8, 8) {
            if let Some(ymd) = valid(((n / 10_000) as u16, (n / 100 % 100) as u8, (n % 100) as u8))
            {
                return f(ymd, 1, None);
            }
        }
    }
    // Day or month first, numeric: 12/03/1980, 3.12.80.
    if let (Some(p), Some(q), Some(y)) = (
        number(a, 1, 2),
        text(1).and_then(|t| number(t, 1, 2)),
        text(2).and_then(year),
    ) {
        let (p, q) = (p as u8, q as u8);
        let dmy = valid((y, q, p));
        let mdy = valid((y, p, q));
        match (dmy, mdy) {
            (Some(a), Some(b)) if a != b => {
                if let Some(r) = f(a, 3, Some(DateOrder::Dmy)) {
                    return Some(r);
                }
                return f(b, 3, Some(DateOrder::Mdy));
            }
            (Some(a), _) | (None, Some(a)) => return f(a, 3, None),
            (None, None) => {}
        }
    }
    // 12 March 1980, 12th of March 1980.
    if let Some(d) = day(a) {
        let skip = usize::from(text(1).is_some_and(|t| t.eq_ignore_ascii_case("of")));
        if let (Some(m), Some(y)) = (
            text(1 + skip).and_then(month_name),
            text(2 + skip).and_then(year),
        ) {
            if let Some(ymd) = valid((y, m, d)) {
                return f(ymd, 3 + skip, None);
            }
        }
    }
    // March 12, 1980.
    if let (Some(m), Some(d), Some(y)) =
        (month_name(a), text(1).and_then(day), text(2).and_then(year))
    {
        if let Some(ymd) = valid((y, m, d)) {
            return f(ymd, 3, None);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(kind: ColumnType, s: &str) -> String {
        String::from_utf8(
            normalise(kind, DateOrder::Dmy, s)
                .unwrap_or_else(|e| panic!("{s}: {e:?}"))
                .as_bytes()
                .to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn each_type_folds_what_writers_vary() {
        assert_eq!(
            n(ColumnType::Digits, "4556 5260-1815.9081"),
            "4556526018159081"
        );
        assert_eq!(
            n(ColumnType::Name, "  Mary-Ann  O'NEIL "),
            "mary ann o neil"
        );
        assert_eq!(n(ColumnType::Name, "ÉLODIE Dürr"), "élodie dürr");
        assert_eq!(
            n(ColumnType::Email, " Jo.Smith@Example.COM "),
            "jo.smith@example.com"
        );
        assert_eq!(n(ColumnType::Code, "sw1a 1aa"), "SW1A1AA");
        for d in [
            "1980-03-12",
            "12/03/1980",
            "12.3.80",
            "12 March 1980",
            "12th of March 1980",
            "March 12, 1980",
            "Mar 12 1980",
            "19800312",
        ] {
            assert_eq!(n(ColumnType::Date, d), "19800312", "{d}");
        }
        assert_eq!(
            normalise(ColumnType::Date, DateOrder::Mdy, "03/12/1980")
                .unwrap()
                .as_bytes(),
            b"19800312"
        );
        // Unambiguous dates ignore the order: 25 cannot be a month.
        assert_eq!(
            normalise(ColumnType::Date, DateOrder::Mdy, "25/12/1980")
                .unwrap()
                .as_bytes(),
            b"19801225"
        );
    }

    /// Cells are folded as the message text is (`crate::fold`): a record typed in full-width
    /// characters or carrying invisible ones hashes as its plain spelling.
    #[test]
    fn full_width_and_invisible_characters_fold_as_in_the_text() {
        assert_eq!(
            n(
                ColumnType::Digits,
                "４５５６　５２６０－１８１５\u{200b}９０８１"
            ),
            "4556526018159081"
        );
        assert_eq!(
            n(ColumnType::Name, "Ｍａｒｙ\u{ad}Ａｎｎ"),
            n(ColumnType::Name, "maryann")
        );
        assert_eq!(
            n(ColumnType::Email, "ｍａｒｙ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            "mary@example.com"
        );
        assert_eq!(n(ColumnType::Code, "ＡＢ\u{2060}１２"), "AB12");
        assert_eq!(
            n(ColumnType::Date, "１２／０３／１９８０"),
            n(ColumnType::Date, "12/03/1980")
        );
    }

    #[test]
    fn bad_cells_are_refused_with_the_reason() {
        assert_eq!(
            normalise(ColumnType::Date, DateOrder::Dmy, "31/02/1980").unwrap_err(),
            CellFault::NotADate
        );
        assert_eq!(
            normalise(ColumnType::Date, DateOrder::Dmy, "12 March 1980 extra").unwrap_err(),
            CellFault::NotADate
        );
        assert_eq!(
            normalise(ColumnType::Name, DateOrder::Dmy, &"x".repeat(200)).unwrap_err(),
            CellFault::TooLong
        );
        assert!(normalise(ColumnType::Date, DateOrder::Dmy, " ")
            .unwrap()
            .as_bytes()
            .is_empty());
    }

    #[test]
    fn ambiguous_dates_offer_both_readings() {
        let words = words_of("03/04/2001");
        let mut seen = Vec::new();
        let _: Option<()> = dates(&words, |ymd, _, order| {
            seen.push((ymd, order));
            None
        });
        assert_eq!(
            seen,
            vec![
                ((2001, 4, 3), Some(DateOrder::Dmy)),
                ((2001, 3, 4), Some(DateOrder::Mdy))
            ]
        );
    }
}
