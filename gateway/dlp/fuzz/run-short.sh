#!/bin/sh
# Runs each cordon-dlp fuzz target for a short, bounded time (default 30 s).
# CI calls this when a nightly toolchain is present. Seeds come from the
# labeled corpus; crashes land in fuzz/artifacts/<target>/ and should be
# copied to tests/fuzz_regressions/ as regression inputs.
set -eu
secs="${1:-30}"
cd "$(dirname "$0")"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "nightly toolchain not installed: skipping fuzz run"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not installed: skipping fuzz run (cargo install cargo-fuzz)"
    exit 0
fi
mkdir -p corpus/mime
cp -n ../../../tests/corpus/dlp/*.eml corpus/mime/ 2>/dev/null || true
# Seeds for the zip target: stored and deflated entries, an OOXML part, a nested zip, a PDF.
mkdir -p corpus/zip
python3 - corpus/zip <<'PY' || true
import io, sys, zipfile
out = sys.argv[1]
def z(entries, method):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as f:
        for name, data in entries:
            f.writestr(name, data)
    return b.getvalue()
card = b"card 4556 5260 1815 9081 exp 09/28"
docx = [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document><w:p><w:t>SSN 536-22-8190</w:t></w:p></w:document>")]
seeds = {
    "stored.zip": z([("a.txt", card)], zipfile.ZIP_STORED),
    "deflated.zip": z([("a.txt", card * 20)], zipfile.ZIP_DEFLATED),
    "doc.docx": z(docx, zipfile.ZIP_DEFLATED),
    "nested.zip": z([("inner.zip", z([("b.txt", card)], zipfile.ZIP_DEFLATED))], zipfile.ZIP_STORED),
}
# A PDF with a deflated content stream: the part is sniffed by content, so the
# same target drives the PDF reader.
import zlib
content = zlib.compress(b"BT /F1 12 Tf 72 720 Td [(card 4556 52)-12(60 1815 9081)] TJ <00170018> Tj ET")
seeds["page.pdf"] = (b"%PDF-1.7\n1 0 obj\n<< /Title (SSN 536-22-8190) >>\nendobj\n2 0 obj\n<< /Length "
                     + str(len(content)).encode() + b" /Filter /FlateDecode >>\nstream\r\n"
                     + content + b"\r\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
cmap = zlib.compress(b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfchar <0003> <0020> endbfchar "
                     b"1 beginbfrange <0013> <001C> <0030> endbfrange endcmap")
page = zlib.compress(b"BT /C2_0 12 Tf <0017001800180019> Tj [<0003001B>-20<0019>] TJ ET")
def obj(n, body, stream=None):
    out = str(n).encode() + b" 0 obj\n" + body
    if stream is not None:
        out += b"\nstream\n" + stream + b"\nendstream"
    return out + b"\nendobj\n"
seeds["type0.pdf"] = (b"%PDF-1.7\n" + obj(1, b"<< /Type /Page /Contents 2 0 R /Resources << /Font << /C2_0 3 0 R >> >> >>")
    + obj(2, b"<< /Length " + str(len(page)).encode() + b" /Filter /FlateDecode >>", page)
    + obj(3, b"<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 4 0 R >>")
    + obj(4, b"<< /Length " + str(len(cmap)).encode() + b" /Filter /FlateDecode >>", cmap) + b"%%EOF\n")
# A self-extracting ZIP (a stub in front) and a JPEG with a ZIP appended:
# the scanner searches binary and image parts for a local header.
stub = b"MZ\x90\x00" + bytes(range(256)) * 4
seeds["sfx.exe"] = stub + seeds["deflated.zip"]
jpeg = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00"
        b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x12\xff\x00\x34\xff\xd9")
seeds["polyglot.jpg"] = jpeg + seeds["stored.zip"]
for name, data in seeds.items():
    with open(f"{out}/{name}", "wb") as f:
        f.write(b"\0" + data)   # first byte: the split selector
PY
# Seeds for the image target (first byte: 0 PNG, 1 JPEG, 2 GIF).
mkdir -p corpus/image
cp ../tests/fuzz_regressions/image/* corpus/image/ 2>/dev/null || true
# Seeds for the pdf target (first byte: the split): the hand-made PDFs and a
# Ghostscript one, which the regression test also replays.
mkdir -p corpus/pdf
cp ../tests/fuzz_regressions/pdf/* corpus/pdf/ 2>/dev/null || true
for target in mime base64 qp html charset image zip pdf; do
    echo "fuzz $target for ${secs}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
done
# Issue 19's readers, seeded with the golden files of tests/fixtures/formats
# (first byte: the split selector).
for pair in "ole:msg doc xls ppt" "rtf:rtf" "gzip_tar:gz tar"; do
    target="${pair%%:*}"
    mkdir -p "corpus/$target"
    for ext in ${pair#*:}; do
        for f in ../tests/fixtures/formats/*."$ext"; do
            [ -f "$f" ] || continue
            { printf '\0'; cat "$f"; } > "corpus/$target/$(basename "$f")"
        done
    done
    echo "fuzz $target for ${secs}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=1048576 -rss_limit_mb=2048
done
# Compressed RTF and TNEF property lists, seeded with [MS-OXRTFCP] section
# 4's two examples and a property list with PR_BODY_W, a named property and
# PR_RTF_COMPRESSED; base64 and uuencode in text, seeded with a wrapped blob
# and a uuencode block (first byte: the split selector).
mkdir -p corpus/lzfu corpus/tnef_props corpus/inline_text
cp ../tests/fuzz_regressions/lzfu/* corpus/lzfu/ 2>/dev/null || true
cp ../tests/fuzz_regressions/tnef_props/* corpus/tnef_props/ 2>/dev/null || true
cp ../tests/fuzz_regressions/inline_text/* corpus/inline_text/ 2>/dev/null || true
for target in lzfu tnef_props inline_text; do
    echo "fuzz $target for ${secs}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
done
# EDM bundles: the input is a bundle's layout (the target signs it with its fuzzing key).
# The seed is a valid one: 3 rows of card (credit_card), name and date, then the card
# index and the cells, as `cordonctl edm hash` writes them (hash values are arbitrary).
mkdir -p corpus/edm_bundle
python3 - corpus/edm_bundle <<'PY' || true
import random, struct, sys
rnd = random.Random(20)
rows, cols = 3, [(0, 1, b"card"), (1, 0, b"name"), (2, 0, b"dob")]
out = struct.pack("<IBHB", rows, 2, 300, len(cols))
for kind, finder, name in cols:
    out += struct.pack("<BBBB", kind, finder, 0, len(name)) + name + struct.pack("<H", 0)
index = sorted((rnd.getrandbits(64), r) for r in range(rows))
out += struct.pack("<I", rows) + b"".join(struct.pack("<Q", h) for h, _ in index)
out += b"".join(struct.pack("<I", r) for _, r in index)
out += b"".join(struct.pack("<I", rnd.getrandbits(32)) for _ in range(rows * len(cols)))
open(sys.argv[1] + "/three-rows", "wb").write(out)
PY
echo "fuzz edm_bundle for ${secs}s"
cargo +nightly fuzz run edm_bundle -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
# The seed: two documents of three and two fingerprints, as the layout after the check value.
mkdir -p corpus/fingerprint_set
python3 - corpus/fingerprint_set <<'PY' || true
import struct, sys
out = bytes([2])
for name, n in ((b"a.docx", 3), (b"b.pdf", 2)):
    out += bytes([len(name)]) + name + struct.pack("<I", n)
for fps in ((1, 5, 9), (2, 5)):
    for v in fps:
        out += struct.pack("<Q", v)
open(sys.argv[1] + "/two-documents", "wb").write(out)
PY
echo "fuzz fingerprint_set for ${secs}s"
cargo +nightly fuzz run fingerprint_set -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
echo "fuzz: all targets ran ${secs}s without a crash"
