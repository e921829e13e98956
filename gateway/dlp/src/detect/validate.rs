//! Checksums and format rules that turn a shape into a finding: Luhn and
//! issuer ranges, SSA rules, ABA checksum, IBAN mod-97 with per-country
//! lengths, NINO prefixes, GitHub's CRC32 token checksum. Pure functions over
//! normalized bytes, tested against published valid and invalid examples.

/// Luhn (mod 10) over ASCII digits.
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn prefix_num(digits: &[u8], n: usize) -> u32 {
    digits[..n]
        .iter()
        .fold(0u32, |a, &d| a * 10 + u32::from(d - b'0'))
}

/// Issuer identification: whether the leading digits and the length belong
/// to a card scheme (Visa, Mastercard, Amex, Discover, Diners, JCB,
/// UnionPay, Maestro).
pub(crate) fn card_issuer_ok(d: &[u8]) -> bool {
    let len = d.len();
    if !(12..=19).contains(&len) {
        return false;
    }
    let p1 = prefix_num(d, 1);
    let p2 = prefix_num(d, 2);
    let p3 = prefix_num(d, 3);
    let p4 = prefix_num(d, 4);
    let p6 = prefix_num(d, 6);
    match p1 {
        4 => matches!(len, 13 | 16 | 19),              // Visa
        5 if (51..=55).contains(&p2) => len == 16,     // Mastercard
        2 if (2221..=2720).contains(&p4) => len == 16, // Mastercard 2-series
        3 if p2 == 34 || p2 == 37 => len == 15,        // Amex
        3 if (300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39 => {
            (14..=19).contains(&len)
        } // Diners
        3 if (3528..=3589).contains(&p4) => (16..=19).contains(&len), // JCB
        1 | 2 if p4 == 1800 || p4 == 2131 => len == 15, // JCB 15-digit
        2 if (2200..=2204).contains(&p4) => (16..=19).contains(&len), // Mir
        8 if p2 == 81 => (16..=19).contains(&len),     // UnionPay 81
        6 if p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 => (16..=19).contains(&len), // Discover
        6 if (622_126..=622_925).contains(&p6) || p2 == 62 => (16..=19).contains(&len), // UnionPay
        5 | 6 if p2 == 50 || (56..=69).contains(&p2) => (12..=19).contains(&len),       // Maestro
        _ => false,
    }
}

/// Published test numbers (payment processors' sandboxes, documentation).
/// They are not cardholder data; flagging them trains users to ignore alerts.
const TEST_CARDS: &[&[u8]] = &[
    b"4111111111111111",
    b"4242424242424242",
    b"4012888888881881",
    b"4222222222222",
    b"4000056655665556",
    b"5555555555554444",
    b"5105105105105100",
    b"5200828282828210",
    b"2223003122003222",
    b"378282246310005",
    b"371449635398431",
    b"378734493671000",
    b"6011111111111117",
    b"6011000990139424",
    b"3056930009020004",
    b"30569309025904",
    b"38520000023237",
    b"3566002020360505",
    b"3530111333300000",
    b"6200000000000005",
];

/// A card number: issuer range, Luhn, not a test number, not a repeated digit.
pub(crate) fn credit_card(d: &[u8]) -> bool {
    card_issuer_ok(d)
        && luhn(d)
        && !TEST_CARDS.contains(&d)
        && !d.iter().skip(1).all(|&c| c == d[1])
}

/// SSNs the SSA voided after they appeared in advertising, and the classic
/// documentation example.
const SSN_ADVERTISING: &[&[u8]] = &[b"078051120", b"219099999", b"123456789", b"457555462"];

/// US SSN rules: area not 000, 666 or 900-999; group not 00; serial not 0000;
/// not a known advertising number.
pub(crate) fn us_ssn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = prefix_num(d, 3);
    let group = prefix_num(&d[3..], 2);
    let serial = prefix_num(&d[5..], 4);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !SSN_ADVERTISING.contains(&d)
        && !d.iter().all(|&c| c == d[0])
}

/// ABA routing transit number: Federal Reserve prefix and the 3-7-1 checksum.
pub(crate) fn aba_routing(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let p2 = prefix_num(d, 2);
    if !((p2 <= 12) || (21..=32).contains(&p2) || (61..=72).contains(&p2) || p2 == 80) {
        return false;
    }
    if d.iter().all(|&c| c == d[0]) {
        return false;
    }
    let v = |i: usize| u32::from(d[i] - b'0');
    let sum = 3 * (v(0) + v(3) + v(6)) + 7 * (v(1) + v(4) + v(7)) + (v(2) + v(5) + v(8));
    sum.is_multiple_of(10)
}

/// IBAN lengths per country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IR", 26),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// IBAN length for a country code, if the country uses IBANs.
pub(crate) fn iban_length(cc: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c[..] == cc[..2])
        .map(|&(_, l)| l)
}

/// Mod-97 check (ISO 13616) over a compact uppercase IBAN.
pub(crate) fn iban_mod97(s: &[u8]) -> bool {
    if s.len() < 15 || iban_length(s) != Some(s.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in s[4..].iter().chain(&s[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// UK National Insurance number: two prefix letters under HMRC's rules,
/// six digits, suffix A-D. `s` is compact (`AB123456C`).
pub(crate) fn uk_nino(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let (a, b) = (s[0], s[1]);
    let bad_first = b"DFIQUV";
    let bad_second = b"DFIOQUV";
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return false;
    }
    if bad_first.contains(&a) || bad_second.contains(&b) {
        return false;
    }
    let pair = [a, b];
    if [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"]
        .iter()
        .any(|p| **p == pair)
    {
        return false;
    }
    s[2..8].iter().all(u8::is_ascii_digit) && matches!(s[8], b'A'..=b'D')
}

/// GitHub's token checksum is the zlib CRC-32 (CRC-32/ISO-HDLC).
const TOKEN_CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub classic tokens (`ghp_` + 30 random + 6 base62 CRC32 of the 30):
/// the checksum separates real tokens from placeholders.
pub(crate) fn github_classic_checksum(body: &[u8]) -> bool {
    if body.len() != 36 {
        return false;
    }
    let mut v = TOKEN_CRC.checksum(&body[..30]);
    let mut enc = [b'0'; 6];
    for slot in enc.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    enc == body[30..]
}

/// ISO 3166-1 alpha-2 codes, and XK (Kosovo), which SWIFT assigns.
const ISO_COUNTRIES: &[u8] =
    b"ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZ\
CACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGN\
GPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULV\
LYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPT\
PWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUS\
UYUZVAVCVEVGVIVNVUWFWSXKYEYTZAZMZW";

/// ISO 9362 BIC: 4 letters, an ISO 3166 country, a 2-character location
/// whose second character is not `0` (test and training BICs), and an
/// optional 3-character branch.
pub(crate) fn bic(v: &[u8]) -> bool {
    (v.len() == 8 || v.len() == 11)
        && v[..6].iter().all(u8::is_ascii_uppercase)
        && ISO_COUNTRIES.chunks(2).any(|c| c == &v[4..6])
        && v[7] != b'0'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_issuers() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(credit_card(b"4556737586899855"));
        assert!(credit_card(b"5425233430109903"));
        assert!(credit_card(b"2223000048410010"));
        assert!(credit_card(b"374245455400126"));
        assert!(!credit_card(b"4111111111111111"), "documented test card");
        assert!(!credit_card(b"1234567812345670"), "no issuer starts with 1");
        assert!(!credit_card(b"4556737586899856"), "bad Luhn");
    }

    #[test]
    fn ssn_rules() {
        assert!(us_ssn(b"536221234"));
        assert!(!us_ssn(b"000221234"));
        assert!(!us_ssn(b"666221234"));
        assert!(!us_ssn(b"912221234"));
        assert!(!us_ssn(b"536001234"));
        assert!(!us_ssn(b"536220000"));
        assert!(!us_ssn(b"078051120"));
    }

    #[test]
    fn aba_checksum() {
        assert!(aba_routing(b"011000015"));
        assert!(aba_routing(b"021000021"));
        assert!(!aba_routing(b"021000022"));
        assert!(!aba_routing(b"991000021"));
    }

    #[test]
    fn iban_examples() {
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(iban_mod97(b"NL91ABNA0417164300"));
        assert!(!iban_mod97(b"GB82WEST12345698765433"));
        assert!(!iban_mod97(b"GB82WEST1234569876543"), "wrong length");
    }

    #[test]
    fn nino_rules() {
        assert!(uk_nino(b"AB123456C"));
        assert!(!uk_nino(b"QQ123456C"));
        assert!(!uk_nino(b"BG123456A"));
        assert!(!uk_nino(b"AB123456E"));
    }

    #[test]
    fn github_checksum() {
        // Built the way GitHub does: 30 random base62 characters + CRC32.
        let random = b"aBcDeFgHiJkLmNoPqRsTuVwXyZ0123";
        let mut v = TOKEN_CRC.checksum(random);
        let mut tail = [0u8; 6];
        for slot in tail.iter_mut().rev() {
            *slot = BASE62[(v % 62) as usize];
            v /= 62;
        }
        let mut body = random.to_vec();
        body.extend_from_slice(&tail);
        assert!(github_classic_checksum(&body));
        body[3] = b'z';
        assert!(!github_classic_checksum(&body));
        assert_eq!(TOKEN_CRC.checksum(b"123456789"), 0xCBF4_3926);
    }
}
