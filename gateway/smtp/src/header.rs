//! The header section of a message (RFC 5322 section 2.2): where each field starts and ends, so
//! the gateway can read a few fields and drop the ones a sender must not set, without touching the
//! body.

/// One header field, folded lines included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a [u8],
    /// The raw value after the colon, folding kept.
    pub value: &'a [u8],
    /// Offset of the field's first octet in the message.
    pub start: usize,
    /// Offset just past the CRLF of its last line.
    pub end: usize,
}

impl Field<'_> {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// At most `max` octets of the value, unfolded and trimmed, lossily decoded: the way to
    /// read a field whose size the sender controls (a folded field can be as large as the
    /// message), so nothing larger than `max` is ever copied or decoded.
    pub fn unfolded_prefix(&self, max: usize) -> String {
        let mut raw = Vec::with_capacity(max.min(self.value.len()));
        for &b in self.value {
            if raw.len() == max {
                break;
            }
            if b != b'\r' && b != b'\n' {
                raw.push(b);
            }
        }
        let s = String::from_utf8_lossy(&raw);
        s.trim().to_string()
    }

    /// The value unfolded and trimmed, lossily decoded.
    pub fn unfolded(&self) -> String {
        let v = String::from_utf8_lossy(self.value);
        let mut s = String::with_capacity(v.len());
        for part in v.split("\r\n") {
            s.push_str(part);
        }
        s.trim().to_string()
    }
}

/// Calls `f` for each header field and returns the offset where the header section ends (the
/// start of the blank line, or of the first line that is not a field).
pub fn for_each_field<'a>(msg: &'a [u8], mut f: impl FnMut(Field<'a>)) -> usize {
    let mut pos = 0;
    let mut current: Option<(usize, usize)> = None; // (start, colon)
    let emit = |cur: Option<(usize, usize)>, end: usize, f: &mut dyn FnMut(Field<'a>)| {
        if let Some((start, colon)) = cur {
            f(Field {
                name: &msg[start..colon],
                value: &msg[colon + 1..end],
                start,
                end,
            });
        }
    };
    while pos < msg.len() {
        let line_end = match memchr::memchr(b'\n', &msg[pos..]) {
            Some(i) => pos + i + 1,
            None => msg.len(),
        };
        let line = &msg[pos..line_end];
        if line.starts_with(b"\r\n") {
            break;
        }
        if matches!(line[0], b' ' | b'\t') && current.is_some() {
            pos = line_end;
            continue;
        }
        let name_len = line.iter().position(|&b| b == b':');
        let valid = match name_len {
            Some(n) if n > 0 => line[..n].iter().all(|&b| (33..=126).contains(&b)),
            _ => false,
        };
        if !valid {
            break;
        }
        emit(current.take(), pos, &mut f);
        current = Some((pos, pos + name_len.unwrap_or(0)));
        pos = line_end;
    }
    emit(current, pos, &mut f);
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_folding() {
        let msg = b"Subject: a\r\n b\r\nX-Cordon-Action: Quarantine\r\nTo: t\r\n\r\nbody: no\r\n";
        let mut seen = Vec::new();
        let end = for_each_field(msg, |f| {
            seen.push((
                String::from_utf8_lossy(f.name).to_string(),
                f.unfolded(),
                f.start,
                f.end,
            ))
        });
        assert_eq!(end, 52);
        assert_eq!(seen[0], ("Subject".into(), "a b".into(), 0, 16));
        assert_eq!(seen[1].0, "X-Cordon-Action");
        assert_eq!(
            &msg[seen[1].2..seen[1].3],
            b"X-Cordon-Action: Quarantine\r\n"
        );
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn a_prefix_reads_no_more_than_asked() {
        let msg = b"Subject: ab\r\n cd\r\n ef\r\n\r\n";
        let mut got = Vec::new();
        for_each_field(msg, |f| {
            got.push((f.unfolded_prefix(5), f.unfolded_prefix(100), f.unfolded()))
        });
        // " ab cd ef": 5 octets are " ab c", trimmed.
        assert_eq!(got[0].0, "ab c");
        assert_eq!(got[0].1, got[0].2);
        assert_eq!(got[0].1, "ab cd ef");
    }

    #[test]
    fn no_blank_line_and_garbage() {
        let msg = b"A: 1\r\nnot a header\r\n";
        let mut n = 0;
        assert_eq!(for_each_field(msg, |_| n += 1), 6);
        assert_eq!(n, 1);
        assert_eq!(for_each_field(b"\r\nbody", |_| panic!()), 0);
        assert_eq!(for_each_field(b"", |_| panic!()), 0);
        let mut n = 0;
        assert_eq!(for_each_field(b"A: 1", |_| n += 1), 4);
        assert_eq!(n, 1);
    }
}
