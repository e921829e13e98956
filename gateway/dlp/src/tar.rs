//! The header block of a tar archive (POSIX ustar, GNU and v7), read one
//! 512-byte block at a time: the archive levels in `zip.rs` stream the
//! entries' data themselves. Hand-written because the `tar` crate pulls
//! from a `Read` while the engine is pushed bytes as they arrive; a header
//! is 512 bytes of fixed fields (POSIX.1-2017, pax "ustar Interchange
//! Format"), checked by its checksum.

/// Bytes of a tar block: headers and data are padded to it.
pub(crate) const BLOCK: usize = 512;

/// What a header block says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    /// An all-zero block: the end of the archive.
    End,
    /// A regular file of `size` bytes.
    File { size: u64 },
    /// A GNU long name (`L`): the next entry's name is this entry's data.
    LongName { size: u64 },
    /// Anything else (directory, link, pax header, device): `size` bytes of
    /// data to step over.
    Other { size: u64 },
}

/// Parses one header block; `None` when the checksum or a size field is
/// not what a tar writer produces.
pub(crate) fn parse(b: &[u8; BLOCK]) -> Option<Header> {
    if b.iter().all(|&x| x == 0) {
        return Some(Header::End);
    }
    let want = octal(&b[148..156])?;
    let sum: u64 = b
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(x)
            }
        })
        .sum();
    if sum != want {
        return None;
    }
    let size = size(&b[124..136])?;
    Some(match b[156] {
        b'0' | 0 | b'7' => Header::File { size },
        b'L' => Header::LongName { size },
        _ => Header::Other { size },
    })
}

/// Whether `b` starts with a valid tar header (used to sniff a tar
/// archive, which has no magic at offset 0).
pub(crate) fn sniff(b: &[u8]) -> bool {
    match <&[u8; BLOCK]>::try_from(b.get(..BLOCK).unwrap_or(&[])) {
        Ok(block) => !matches!(parse(block), None | Some(Header::End)),
        Err(_) => false,
    }
}

/// The entry's name: the ustar prefix (when the magic says ustar), a
/// slash, and the name field, each up to its first NUL.
pub(crate) fn name(b: &[u8; BLOCK], mut out: impl FnMut(&[u8])) {
    let field = |f: &'_ [u8]| -> usize { f.iter().position(|&x| x == 0).unwrap_or(f.len()) };
    if &b[257..262] == b"ustar" && b[345] != 0 {
        let p = &b[345..500];
        out(&p[..field(p)]);
        out(b"/");
    }
    let n = &b[..100];
    out(&n[..field(n)]);
}

/// An octal number field: optional leading spaces, digits, then NUL or
/// space to the end.
fn octal(f: &[u8]) -> Option<u64> {
    let f = match f.iter().position(|&x| x != b' ') {
        Some(i) => &f[i..],
        None => return None,
    };
    let end = f
        .iter()
        .position(|&x| x == 0 || x == b' ')
        .unwrap_or(f.len());
    if end == 0 || f[end..].iter().any(|&x| x != 0 && x != b' ') {
        return None;
    }
    f[..end].iter().try_fold(0u64, |v, &d| match d {
        b'0'..=b'7' => v.checked_mul(8).map(|v| v + u64::from(d - b'0')),
        _ => None,
    })
}

/// A size field: octal, or GNU's base-256 (high bit of the first byte set)
/// for files of 8 GiB and more.
fn size(f: &[u8]) -> Option<u64> {
    if f[0] & 0x80 != 0 {
        return f[1..].iter().try_fold(u64::from(f[0] & 0x7F), |v, &d| {
            v.checked_mul(256).map(|v| v + u64::from(d))
        });
    }
    octal(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as GNU tar 1.34 writes it (`tar --format=ustar`).
    fn header(name: &str, size: u64, kind: u8) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[100..108].copy_from_slice(b"0000644\0");
        b[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
        b[156] = kind;
        b[257..263].copy_from_slice(b"ustar\0");
        b[263..265].copy_from_slice(b"00");
        b[148..156].copy_from_slice(b"        ");
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        b
    }

    #[test]
    fn headers_parse_and_checksums_are_checked() {
        let b = header("data/a.csv", 1234, b'0');
        assert_eq!(parse(&b), Some(Header::File { size: 1234 }));
        assert!(sniff(&b));
        let mut n = Vec::new();
        name(&b, |p| n.extend_from_slice(p));
        assert_eq!(n, b"data/a.csv");
        assert_eq!(
            parse(&header("x", 7, b'L')),
            Some(Header::LongName { size: 7 })
        );
        assert_eq!(
            parse(&header("d/", 0, b'5')),
            Some(Header::Other { size: 0 })
        );
        assert_eq!(parse(&[0u8; BLOCK]), Some(Header::End));
        assert!(!sniff(&[0u8; BLOCK]));
        let mut bad = b;
        bad[0] ^= 1;
        assert_eq!(parse(&bad), None);
        assert!(!sniff(&b[..100]));
        let mut big = header("huge", 0, b'0');
        big[124..136].copy_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0]);
        big[148..156].copy_from_slice(b"        ");
        let sum: u32 = big.iter().map(|&x| u32::from(x)).sum();
        big[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert_eq!(parse(&big), Some(Header::File { size: 2 << 24 }));
    }
}
