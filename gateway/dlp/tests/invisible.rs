//! What the reader does not see does not hide what the reader sees: zero-width and other
//! invisible format characters between the digits of a number, full-width digits (how
//! Japanese text and IMEs write numbers) and Arabic-Indic digits are folded before the
//! detectors read the text (`src/fold.rs`), however the message carries them: UTF-8 as it is,
//! quoted-printable, base64, HTML character references, a legacy charset. Dictionary terms
//! and EDM cells are folded the same way, so either spelling matches either. And a part in
//! UTF-7 (`+ADQ-556` for `4556`), which encoding_rs does not decode, is decoded
//! (`src/utf7.rs`) instead of going unread as `unknown_charset`. And what an HTML body
//! carries that is not rendered but is read all the same (comments, script and style text,
//! `alt`, `title`, `value`, `content`, `data-*`...) is read (`src/html_hidden.rs`).

mod common;

use std::sync::Arc;

use cordon_dlp::{Confidence, DictionaryConfig, Engine, EngineConfig, Findings};

fn engine(cfg: &EngineConfig) -> Arc<Engine> {
    Arc::new(Engine::new(cfg).unwrap())
}

/// Scans whole, byte by byte and in 5-byte chunks; the findings must agree (a folded
/// character cut between two feeds folds the same).
fn scan_with(e: &Arc<Engine>, msg: &[u8]) -> Findings {
    common::scan_chunked(e, msg, 5)
}

fn scan(msg: &[u8]) -> Findings {
    scan_with(&engine(&EngineConfig::default()), msg)
}

/// A one-part message with `headers` (Content-Type and so on) and `body`.
fn part(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: a@contoso.com\r\nTo: b@example.net\r\nSubject: numbers\r\nMIME-Version: 1.0\r\n{headers}\r\n"
    )
    .into_bytes();
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\n");
    m
}

fn utf8(body: &str) -> Vec<u8> {
    part(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        body.as_bytes(),
    )
}

fn cards(f: &Findings) -> u32 {
    f.count("credit_card", Confidence::High)
}

const INVISIBLE: &[(&str, char)] = &[
    ("ZERO WIDTH SPACE", '\u{200b}'),
    ("ZERO WIDTH NON-JOINER", '\u{200c}'),
    ("ZERO WIDTH JOINER", '\u{200d}'),
    ("WORD JOINER", '\u{2060}'),
    ("ZERO WIDTH NO-BREAK SPACE", '\u{feff}'),
    ("SOFT HYPHEN", '\u{ad}'),
    ("LEFT-TO-RIGHT MARK", '\u{200e}'),
    ("INVISIBLE SEPARATOR", '\u{2063}'),
];

#[test]
fn invisible_characters_between_the_groups_hide_nothing() {
    for (name, c) in INVISIBLE {
        // Between the groups, and between every digit.
        let between = format!("Visa card 4556{c}7375{c}8689{c}9855 exp 09/29");
        assert_eq!(cards(&scan(&utf8(&between))), 1, "{name} between groups");
        let every: String = "4556737586899855".chars().flat_map(|d| [d, *c]).collect();
        let text = format!("Visa card {every} exp 09/29");
        assert_eq!(cards(&scan(&utf8(&text))), 1, "{name} between digits");
    }
}

#[test]
fn invisible_characters_are_folded_whatever_carries_them() {
    let qp = part(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        b"Visa card 4556=E2=80=8B7375=E2=80=8B8689=E2=80=8B=\r\n9855 exp 09/29",
    );
    assert_eq!(cards(&scan(&qp)), 1, "quoted-printable");
    let b64 = part(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
        common::b64("Visa card 4556\u{2060}7375\u{2060}8689\u{2060}9855".as_bytes()).as_bytes(),
    );
    assert_eq!(cards(&scan(&b64)), 1, "base64");
    let html = part(
        "Content-Type: text/html; charset=us-ascii\r\n",
        b"<p>Visa card 4556&#8203;7375&#x200B;8689&zwj;9855</p>",
    );
    assert_eq!(cards(&scan(&html)), 1, "HTML character references");
    // UTF-16, where the zero-width space is two bytes of its own.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "Visa card 4556\u{200b}7375\u{200b}8689\u{200b}9855".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let utf16 = part(
        "Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n",
        common::b64(&utf16).as_bytes(),
    );
    assert_eq!(cards(&scan(&utf16)), 1, "UTF-16");
}

#[test]
fn full_width_and_arabic_indic_digits_are_read_as_digits() {
    let full = "Visa card ４５５６　７３７５　８６８９　９８５５ exp 09/29";
    assert_eq!(
        cards(&scan(&utf8(full))),
        1,
        "full-width digits, ideographic spaces"
    );
    let arabic = "Visa card \u{664}\u{665}\u{665}\u{666} \u{667}\u{663}\u{667}\u{665} \u{668}\u{666}\u{668}\u{669} \u{669}\u{668}\u{665}\u{665}";
    assert_eq!(cards(&scan(&utf8(arabic))), 1, "Arabic-Indic digits");
    let persian = "Visa card \u{6f4}\u{6f5}\u{6f5}\u{6f6} \u{6f7}\u{6f3}\u{6f7}\u{6f5} \u{6f8}\u{6f6}\u{6f8}\u{6f9} \u{6f9}\u{6f8}\u{6f5}\u{6f5}";
    assert_eq!(
        cards(&scan(&utf8(persian))),
        1,
        "Extended Arabic-Indic digits"
    );
    // Japanese mail as Japanese mailers send it: ISO-2022-JP and Shift_JIS, the My Number
    // in full-width digits after its keyword, with a full-width colon.
    let text = "マイナンバー：１２３４　５６７８　９０１８";
    for label in ["iso-2022-jp", "shift_jis"] {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
        let (bytes, _, bad) = enc.encode(text);
        assert!(!bad, "{label} encodes the sample");
        let m = part(
            &format!("Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: base64\r\n"),
            common::b64(&bytes).as_bytes(),
        );
        let f = scan(&m);
        assert_eq!(
            f.count("jp_my_number", Confidence::High),
            1,
            "{label}: {f:?}"
        );
    }
}

#[test]
fn keycap_emoji_and_tag_characters_are_read_as_digits() {
    let keycaps: String = "4556 7375 8689 9855"
        .chars()
        .map(|c| {
            if c == ' ' {
                " ".to_string()
            } else {
                format!("{c}\u{fe0f}\u{20e3}")
            }
        })
        .collect();
    assert_eq!(
        cards(&scan(&utf8(&format!("Visa card {keycaps}")))),
        1,
        "keycaps"
    );
    // "ASCII smuggling": the number in tag characters, which show nothing.
    let tags: String = "4556 7375 8689 9855"
        .chars()
        .map(|c| char::from_u32(0xE0000 + u32::from(c)).unwrap())
        .collect();
    assert_eq!(
        cards(&scan(&utf8(&format!("Visa card {tags}")))),
        1,
        "tag characters"
    );
}

#[test]
fn text_without_folded_characters_reads_as_before() {
    // Dashes, curly quotes, accents and CJK stop the fold's search and are kept.
    let text = "Grüße – “Visa” 4556 7375 8689 9855 日本語 café";
    let f = scan(&utf8(text));
    assert_eq!(cards(&f), 1);
    let f = scan(&utf8("Order 4556\u{2011}7375\u{2011}8689\u{2011}9855"));
    assert_eq!(
        cards(&f),
        0,
        "a NON-BREAKING HYPHEN is visible and is not a digit group joiner"
    );
}

#[test]
fn dictionary_terms_match_in_either_width() {
    let cfg = EngineConfig {
        dictionaries: vec![DictionaryConfig {
            name: "codenames".into(),
            terms: vec!["Project Falcon".into(), "ＢＬＵＥＢＩＲＤ".into()],
            case_sensitive: false,
            whole_word: true,
        }],
        ..EngineConfig::default()
    };
    let e = engine(&cfg);
    for text in [
        "about Ｐｒｏｊｅｃｔ　Ｆａｌｃｏｎ today",
        "about Project\u{200b} Falcon today",
        "about project falcon today",
        "the bluebird file",
        "the ＢＬＵＥＢＩＲＤ file",
    ] {
        let f = scan_with(&e, &utf8(text));
        assert_eq!(f.count("codenames", Confidence::Low), 1, "{text}");
    }
    let f = scan_with(&e, &utf8("the blue bird file"));
    assert_eq!(f.count("codenames", Confidence::Low), 0);
}

#[test]
fn a_utf7_part_is_decoded_not_left_unread() {
    // "Visa card 4556 7375 8689 9855 – Grüße".encode("utf-7") (Python 3.11), and the same
    // with every digit written in base64 as a writer may choose to.
    for body in [
        &b"Visa card 4556 7375 8689 9855 +IBM Gr+APwA3w-e"[..],
        b"Visa card +ADQANQA1ADY- +ADcAMwA3ADU- +ADgANgA4ADk- +ADkAOAA1ADU-",
    ] {
        for cte in ["7bit", "base64"] {
            let encoded = if cte == "base64" {
                common::b64(body).into_bytes()
            } else {
                body.to_vec()
            };
            let m = part(
                &format!("Content-Type: text/plain; charset=\"UTF-7\"\r\nContent-Transfer-Encoding: {cte}\r\n"),
                &encoded,
            );
            let f = scan(&m);
            assert_eq!(cards(&f), 1, "{cte}: {f:?}");
            assert!(!f.is_unscannable(), "{cte}: {:?}", f.unscannable);
        }
    }
}

#[test]
fn what_html_does_not_render_is_read_too() {
    let card = "Visa card 4556 7375 8689 9855";
    let hidden = [
        format!("<p>hi</p><!-- {card} -->"),
        format!("<p>hi <img src=\"logo.png\" alt=\"{card}\"></p>"),
        format!("<p title='{card}'>hi</p>"),
        format!("<form><input type=hidden value=\"{card}\"></form>"),
        format!("<meta name=description content=\"{card}\"><p>hi</p>"),
        format!("<script>var c = \"{card}\";</script><p>hi</p>"),
        format!("<style>/* {card} */ p {{ margin: 0 }}</style><p>hi</p>"),
        format!("<div data-note=\"{card}\">hi</div>"),
        "<p title=\"Visa card &#52;556 7375 8689 9855\">hi</p>".to_string(),
        format!("<![CDATA[{card}]]><p>hi</p>"),
    ];
    for html in &hidden {
        let m = part(
            "Content-Type: text/html; charset=utf-8\r\n",
            html.as_bytes(),
        );
        assert_eq!(cards(&scan(&m)), 1, "{html}");
    }
    // Seen and hidden at once is one value, not two.
    let both = format!("<p>{card}</p><!-- {card} -->");
    let f = scan(&part("Content-Type: text/html\r\n", both.as_bytes()));
    assert_eq!(f.count("credit_card", Confidence::Low), 1);
    // Not read: URLs, where tracking parameters are numbers.
    let url = "<a href=\"https://t.example/c?card=4556737586899855\">link</a>";
    let f = scan(&part("Content-Type: text/html\r\n", url.as_bytes()));
    assert_eq!(f.count("credit_card", Confidence::Low), 0);
}
