//! What the message trace and the log tail share: text kept in cells of eight bytes, and the
//! paging of per-source rings merged by time.

use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `text` into `cells`, cut at a character boundary to what they hold and zero-padded
/// (a zero byte ends the text when read back).
pub(crate) fn write_text(cells: &[AtomicU64], text: &str) {
    let room = cells.len() * 8;
    let mut cut = text.len().min(room);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let bytes = &text.as_bytes()[..cut];
    for (i, c) in cells.iter().enumerate() {
        let mut b = [0u8; 8];
        let from = (i * 8).min(bytes.len());
        let to = (from + 8).min(bytes.len());
        b[..to - from].copy_from_slice(&bytes[from..to]);
        c.store(u64::from_le_bytes(b), Ordering::Relaxed);
    }
}

/// The text [`write_text`] left in `cells`.
pub(crate) fn read_text(cells: &[AtomicU64]) -> String {
    let bytes: Vec<u8> = cells
        .iter()
        .flat_map(|c| c.load(Ordering::Relaxed).to_le_bytes())
        .take_while(|b| *b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One source's ring as a reader finds it: `head` records written so far, of which the newest
/// `capacity` are still there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ring {
    pub head: u64,
    pub capacity: u64,
}

/// A record that knows its source, its sequence number in that source's ring and its time.
pub(crate) trait Paged {
    fn source(&self) -> usize;
    fn seq(&self) -> u64;
    fn time_ms(&self) -> u64;
}

/// One page of records from every source's ring, oldest first by time, at most `max`.
/// `since[s]` is the first sequence number wanted from source `s` (what a previous page
/// returned as next); a source `since` does not cover gives its newest. `read(s, seq)` copies a
/// record, or `None` when it is being rewritten or filtered out. Returns the records and, per
/// source, the sequence number to ask from next time.
pub(crate) fn page<R: Paged>(
    rings: &[Ring],
    since: &[u64],
    max: usize,
    mut read: impl FnMut(usize, u64) -> Option<R>,
) -> (Vec<R>, Vec<u64>) {
    let mut all = Vec::new();
    let mut spans = Vec::with_capacity(rings.len());
    for (s, ring) in rings.iter().enumerate() {
        let oldest = ring.head.saturating_sub(ring.capacity);
        let from = since
            .get(s)
            .copied()
            .unwrap_or(ring.head.saturating_sub(max as u64))
            .clamp(oldest, ring.head);
        all.extend((from..ring.head).filter_map(|seq| read(s, seq)));
        spans.push((from, ring.head));
    }
    all.sort_by_key(|r| (r.time_ms(), r.source(), r.seq()));
    if since.is_empty() {
        // The newest `max`.
        let cut = all.len().saturating_sub(max);
        all.drain(..cut);
    } else {
        all.truncate(max);
    }
    let next = spans
        .iter()
        .enumerate()
        .map(|(s, (from, head))| {
            // Past the last record returned, or where the read started (or the end, when
            // nothing of this source was left out).
            match all
                .iter()
                .filter(|r| r.source() == s)
                .map(|r| r.seq())
                .max()
            {
                Some(seq) => seq + 1,
                None if all.len() < max => *head,
                None => *from,
            }
        })
        .collect();
    (all, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_character_boundary_and_reads_back() {
        let cells: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(u64::MAX)).collect();
        write_text(&cells, "abc");
        assert_eq!(read_text(&cells), "abc");
        // 15 bytes of ASCII and a two-byte character: the character does not fit.
        write_text(&cells, "aaaaaaaaaaaaaaaé");
        assert_eq!(read_text(&cells), "aaaaaaaaaaaaaaa");
        write_text(&cells, "");
        assert_eq!(read_text(&cells), "");
    }
}
