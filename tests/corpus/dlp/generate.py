#!/usr/bin/env python3
"""Generates the labeled DLP corpus: .eml files plus labels.json.

Standard library only, deterministic (fixed seed), so the committed files can
be regenerated and diffed. Each message is a real-world carrier shape (Outlook
HTML, quoted-printable with soft breaks inside numbers, Windows-1252, UTF-16,
base64 CSV/XLSX/DOCX/PDF/ODT attachments, forwarded message/rfc822 chains,
zips in zips, RFC 2047 subjects) holding a mix of true positives and hard
negatives. labels.json gives, per message, the distinct values each detector
must report at confidence >= medium (absent = 0).

Run: python3 tests/corpus/dlp/generate.py   (from the repo root or anywhere)
"""
import base64
import io
import json
import os
import random
import zipfile
import zlib

OUT = os.path.dirname(os.path.abspath(__file__))
R = random.Random(20240611)

FILLER = [
    "Please find the details below as discussed in this morning's call.",
    "Let me know if anything is missing before the quarterly review.",
    "The team agreed to move the workshop to the second week of the month.",
    "Thanks again for the quick turnaround on the contract redlines.",
    "Our records were updated after the migration to the new platform.",
    "I have copied finance so they can reconcile the statement.",
    "As requested, here is the information for the onboarding file.",
    "The vendor confirmed delivery for Thursday afternoon.",
    "Kind regards and have a great weekend.",
    "We are still waiting for the signed purchase approval.",
]

# Harmless numbers real mail is full of: must not fire.
def hard_negative(r):
    kind = r.randrange(14)
    if kind == 0:
        return f"Order #: {luhn_complete('4' + digits(r, 14))} has shipped."
    if kind == 1:
        return f"Tracking number: 1Z{r.randrange(10**3):03d}AA1{digits(r, 10)} (UPS)."
    if kind == 2:
        return f"Call me at +1 (415) 555-{r.randrange(1000, 9999)} or 415-555-{r.randrange(1000, 9999)}."
    if kind == 3:
        return f"Logged at 2024-0{r.randrange(1, 9)}-1{r.randrange(0, 9)} 14:{r.randrange(10, 59)}:05, epoch {1710000000000 + r.randrange(10**9)}."
    if kind == 4:
        bad = luhn_complete('4' + digits(r, 14))
        bad = bad[:-1] + str((int(bad[-1]) + 1) % 10)
        return f"Card number {group4(bad)} was declined (typo)."
    if kind == 5:
        return "For testing use the test card 4111 1111 1111 1111 or 4242 4242 4242 4242 in staging."
    if kind == 6:
        area = r.choice(["000", "666", "9" + digits(r, 2)])
        return f"SSN field contained {area}-{r.randrange(10, 99)}-{r.randrange(1000, 9999)} which is invalid."
    if kind == 7:
        return f"Invoice ref 20{digits(r, 7)} and PO number 45{digits(r, 8)} attached."
    if kind == 8:
        cc = r.choice(["GB", "DE", "FR"])
        good = make_iban(r, cc)
        bad = good[:-1] + str((int(good[-1]) + 3) % 10)
        return f"Old account {bad} is closed."
    if kind == 9:
        return f"NI number QQ 12 34 56 C and BG{digits(r, 6)}A are not valid prefixes."
    if kind == 10:
        return "Example key from the docs: AKIAIOSFODNN7EXAMPLE, do not use."
    if kind == 11:
        return "Paste your token here: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    if kind == 12:
        return "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----"
    good = make_aba(r)
    bad = good[:-1] + str((int(good[-1]) + 1 + r.randrange(8)) % 10)
    return f"Routing {bad} is not a real one; FedEx {digits(r, 4)} {digits(r, 4)} {digits(r, 4)}."


def digits(r, n):
    return "".join(str(r.randrange(10)) for _ in range(n))


def luhn_complete(prefix):
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        v = int(ch)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return prefix + str((10 - total % 10) % 10)


def group4(s):
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


TEST_CARDS = {"4111111111111111", "4242424242424242", "5555555555554444", "378282246310005"}


def make_card(r):
    while True:
        scheme = r.randrange(5)
        if scheme == 0:
            num = luhn_complete("4" + digits(r, 14))
        elif scheme == 1:
            num = luhn_complete(str(r.randrange(51, 56)) + digits(r, 13))
        elif scheme == 2:
            num = luhn_complete(r.choice(["34", "37"]) + digits(r, 12))
        elif scheme == 3:
            num = luhn_complete("6011" + digits(r, 11))
        else:
            num = luhn_complete(str(r.randrange(2221, 2721)) + digits(r, 11))
        if num not in TEST_CARDS and len(set(num[1:])) > 1:
            return num


def fmt_card(r, num):
    style = r.randrange(3)
    if style == 0 or len(num) == 15 and style == 1:
        return num
    sep = " " if style == 1 else "-"
    if len(num) == 15:
        return sep.join([num[:4], num[4:10], num[10:]])
    return sep.join(num[i:i + 4] for i in range(0, len(num), 4))


def make_ssn(r):
    while True:
        area = r.randrange(1, 900)
        if area == 666:
            continue
        g = r.randrange(1, 100)
        s = r.randrange(1, 10000)
        v = f"{area:03d}{g:02d}{s:04d}"
        if v not in ("078051120", "219099999", "123456789"):
            return v


def mod97(s):
    rearr = s[4:] + s[:4]
    num = "".join(str(int(ch, 36)) for ch in rearr)
    return int(num) % 97


IBAN_FMT = {"GB": ("A4", 14), "DE": ("", 18), "FR": ("", 23), "NL": ("A4", 10), "ES": ("", 20), "IT": ("A1", 22)}


def make_iban(r, cc=None):
    cc = cc or r.choice(list(IBAN_FMT))
    letters, ndig = IBAN_FMT[cc]
    bban = ""
    if letters:
        bban = "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(int(letters[1])))
        if cc == "IT":
            bban = bban + digits(r, ndig)
        else:
            bban = bban + digits(r, ndig)
    else:
        bban = digits(r, ndig)
    check = 98 - mod97(cc + "00" + bban)
    return f"{cc}{check:02d}{bban}"


def fmt_iban(r, iban):
    if r.random() < 0.5:
        return iban
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def make_aba(r):
    while True:
        p = r.choice(["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "21", "22", "26", "31", "32", "61", "67"])
        body = p + digits(r, 6)
        for last in range(10):
            d = [int(c) for c in body + str(last)]
            if (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0:
                return body + str(last)


def make_nino(r):
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    while True:
        p = r.choice(first) + r.choice(second)
        if p not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
            break
    return p + digits(r, 6) + r.choice("ABCD")


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def make_github(r):
    body = "".join(r.choice(ALNUM) for _ in range(30))
    c = zlib.crc32(body.encode()) & 0xFFFFFFFF
    tail = ""
    for _ in range(6):
        tail = B62[c % 62] + tail
        c //= 62
    return r.choice(["ghp_", "gho_", "ghs_"]) + body + tail


def make_aws(r):
    return r.choice(["AKIA", "ASIA"]) + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def make_azure(r):
    raw = bytes(r.randrange(256) for _ in range(64))
    return base64.b64encode(raw).decode()


def make_pem(r):
    raw = bytes(r.randrange(256) for _ in range(600))
    b = base64.b64encode(raw).decode()
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    label = r.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


PROJECTS = ["Project Falcon", "Bluebird Merger", "Operation Nightjar", "Kestrel Acquisition", "Halcyon Roadmap"]


def sensitive(r, labels):
    """One true positive sentence; updates labels."""
    kind = r.randrange(12)

    def add(k):
        labels[k] = labels.get(k, 0) + 1

    if kind in (0, 1):
        num = make_card(r)
        add("credit_card")
        kw = r.choice(["Visa", "card number", "Mastercard", "credit card", "Amex", ""])
        if kw:
            return f"Please charge the {kw} {fmt_card(r, num)} exp 0{r.randrange(1, 9)}/2{r.randrange(6, 9)}."
        return f"The number on file is {fmt_card(r, num)} per the customer."
    if kind == 2:
        v = make_ssn(r)
        add("us_ssn")
        if r.random() < 0.6:
            return f"Employee SSN: {v[:3]}-{v[3:5]}-{v[5:]} for the benefits form."
        return f"Social Security Number {v} (unformatted) for payroll."
    if kind == 3:
        add("iban")
        return f"Wire the deposit to IBAN {fmt_iban(r, make_iban(r))} by Friday."
    if kind == 4:
        add("aba_routing")
        return f"ABA routing number {make_aba(r)}, account ending 4471."
    if kind == 5:
        n = make_nino(r)
        add("uk_nino")
        if r.random() < 0.5:
            return f"Her national insurance number is {n[:2]} {n[2:4]} {n[4:6]} {n[6:8]} {n[8]}."
        return f"NINO {n} confirmed by HMRC."
    if kind == 6:
        add("private_key")
        return "Here is the deploy key, keep it safe:\n" + make_pem(r)
    if kind == 7:
        add("aws_access_key")
        return f"aws_access_key_id = {make_aws(r)}"
    if kind == 8:
        add("github_token")
        return f"CI token: {make_github(r)}"
    if kind == 9:
        add("azure_storage_key")
        return f"DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey={make_azure(r)};EndpointSuffix=core.windows.net"
    if kind == 10:
        add("projects")
        term = r.choice(PROJECTS)
        return f"Reminder: {term} is confidential until the announcement."
    add("employee_id")
    return f"Badge request for EMP-{r.randrange(100000, 999999)} approved."


def body_text(r, labels, n_pos=None, n_neg=None):
    n_pos = r.randrange(0, 3) if n_pos is None else n_pos
    n_neg = r.randrange(1, 3) if n_neg is None else n_neg
    items = [sensitive(r, labels) for _ in range(n_pos)] + [hard_negative(r) for _ in range(n_neg)]
    r.shuffle(items)
    paras = ["Hi team,"]
    for it in items:
        paras.append(r.choice(FILLER))
        paras.append(it)
    paras.append(r.choice(FILLER))
    paras.append("Best,\nDana Whitfield\nContoso Ltd.")
    return "\n\n".join(paras)


def qp_encode(text, enc="utf-8", soft_every=None):
    """Quoted-printable with soft breaks at random places (inside numbers too)."""
    raw = text.encode(enc)
    out, line = [], ""
    limit = soft_every or 76
    for b in raw:
        ch = chr(b)
        if b == 0x0A:
            out.append(line + "\r\n")
            line = ""
            continue
        if b == 0x0D:
            continue
        tok = ch if (33 <= b <= 126 and ch != "=") or b == 0x20 else f"={b:02X}"
        if len(line) + len(tok) > limit - 1 or (soft_every is None and R.random() < 0.02):
            out.append(line + "=\r\n")
            line = ""
        line += tok
    out.append(line)
    return "".join(out)


def b64_lines(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def headers(r, subject, extra=""):
    mid = f"<{digits(r, 12)}.{digits(r, 6)}@contoso.example>"
    return (
        f"Received: from EUR01-HE1-obe.outbound.protection.outlook.com (mail-he1eur01on2100.outbound.protection.outlook.com [40.107.13.100])\r\n"
        f"\tby gw.contoso.example with ESMTPS id 4X{digits(r, 8)}\r\n"
        f"X-MS-Exchange-Organization-SCL: 1\r\n"
        f"X-MS-Exchange-CrossTenant-Id: {digits(r, 8)}-aaaa-bbbb-cccc-{digits(r, 12)}\r\n"
        f"From: Dana Whitfield <dana.whitfield@contoso.example>\r\n"
        f"To: \"Accounts Payable\" <ap@fabrikam.example>\r\n"
        f"Subject: {subject}\r\n"
        f"Date: Tue, 11 Jun 2024 09:{r.randrange(10, 59)}:12 +0000\r\n"
        f"Message-ID: {mid}\r\n"
        f"MIME-Version: 1.0\r\n{extra}"
    )


def html_of(text, r, obfuscate=False):
    parts = []
    for para in text.split("\n\n"):
        inner = para.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if obfuscate:
            # Entities and inline tags where a naive filter would look.
            out = []
            for ch in inner:
                if ch.isdigit() and r.random() < 0.15:
                    out.append(f"&#{ord(ch)};")
                elif ch == " " and r.random() < 0.3:
                    out.append("&nbsp;")
                elif ch.isdigit() and r.random() < 0.05:
                    out.append(f"<span style='color:#1F497D'>{ch}</span>")
                else:
                    out.append(ch)
            inner = "".join(out)
        inner = inner.replace("\n", "<br>\r\n")
        parts.append(f"<p class=MsoNormal><span style='font-size:11.0pt;font-family:\"Calibri\",sans-serif'>{inner}<o:p></o:p></span></p>")
    return (
        "<html xmlns:v=\"urn:schemas-microsoft-com:vml\" xmlns:o=\"urn:schemas-microsoft-com:office:office\">\r\n"
        "<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n"
        "<style><!--\r\n/* Font Definitions */\r\n@font-face {font-family:\"Cambria Math\"; panose-1:2 4 5 3 5 4 6 3 2 4;}\r\np.MsoNormal {margin:0cm; font-size:11.0pt;}\r\n--></style>\r\n"
        "<!--[if gte mso 9]><xml><o:shapedefaults v:ext=\"edit\" spidmax=\"1026\" /></xml><![endif]--></head>\r\n"
        "<body lang=EN-US link=\"#0563C1\" vlink=\"#954F72\"><div class=WordSection1>\r\n"
        + "\r\n".join(parts)
        + "\r\n</div></body></html>"
    )


def xlsx_bytes(rows):
    strings, sheet_rows = [], []
    for i, row in enumerate(rows, 1):
        cells = []
        for j, v in enumerate(row):
            strings.append(v)
            cells.append(f'<c r="{chr(65 + j)}{i}" t="s"><v>{len(strings) - 1}</v></c>')
        sheet_rows.append(f'<row r="{i}">' + "".join(cells) + "</row>")
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (len(strings), len(strings))
           + "".join(f"<si><t>{esc(s)}</t></si>" for s in strings) + "</sst>")
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Q3" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + "".join(sheet_rows) + "</sheetData></worksheet>",
        "xl/sharedStrings.xml": sst,
    }
    return zip_bytes(files)


# Archive entries carry this timestamp, not the clock's: the corpus is the same on every run.
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def entry(name, compression=zipfile.ZIP_DEFLATED):
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.compress_type = compression
    return info


def zip_bytes(files, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in files.items():
            z.writestr(entry(name, compression), data)
    return buf.getvalue()


def docx_bytes(text, r):
    paras = []
    for para in text.split("\n"):
        # Word splits runs anywhere (spell check, formatting): so do we.
        runs, i = [], 0
        while i < len(para):
            j = min(len(para), i + r.randrange(3, 25))
            seg = para[i:j].replace("&", "&amp;").replace("<", "&lt;")
            runs.append(f'<w:r><w:rPr><w:lang w:val="en-US"/></w:rPr><w:t xml:space="preserve">{seg}</w:t></w:r>')
            i = j
        paras.append("<w:p>" + "".join(runs) + "</w:p>")
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           + "".join(paras) + "</w:body></w:document>")
    return zip_bytes({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": doc,
        "word/media/image1.png": b"\x89PNG\r\n\x1a\n" + bytes(r.randrange(256) for _ in range(2000)),
    })


def odt_bytes(text):
    paras = "".join(f"<text:p>{p.replace('&', '&amp;').replace('<', '&lt;')}</text:p>" for p in text.split("\n"))
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
               + paras + "</office:text></office:body></office:document-content>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(entry("mimetype", zipfile.ZIP_STORED), "application/vnd.oasis.opendocument.text")
        z.writestr(entry("content.xml"), content)
        z.writestr(entry("META-INF/manifest.xml"), '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
    return buf.getvalue()


def pdf_bytes(text):
    lines = [l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for l in text.split("\n") if l.strip()]
    stream = "BT /F1 10 Tf 50 780 Td 12 TL\n" + "\n".join(f"({l}) '" for l in lines) + "\nET"
    # Content streams are deflated, as every real PDF writer does: the text is
    # not in the file's bytes, only in the inflated stream.
    packed = zlib.compress(stream.encode("latin-1"), 6).decode("latin-1")
    objs = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n{packed}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out.encode("latin-1")))
        out += f"{i} 0 obj\n{o}\nendobj\n"
    xref = len(out.encode("latin-1"))
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def boundary(r):
    return "_000_" + "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(28)) + "_"


def attach(r, ctype, name, data):
    return (f"Content-Type: {ctype}; name=\"{name}\"\r\n"
            f"Content-Description: {name}\r\n"
            f"Content-Disposition: attachment; filename=\"{name}\"; size={len(data)}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64_lines(data)}\r\n")


def mixed(r, subject, parts, extra_headers=""):
    b = boundary(r)
    out = headers(r, subject, extra_headers + f"Content-Type: multipart/mixed;\r\n\tboundary=\"{b}\"\r\n") + "\r\n"
    for p in parts:
        out += f"--{b}\r\n{p}"
    return out + f"--{b}--\r\n"


def alternative(r, text, html_obfuscate=False, qp_html=True):
    b = boundary(r)
    html = html_of(text, r, html_obfuscate)
    return (f"Content-Type: multipart/alternative;\r\n\tboundary=\"{b}\"\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{qp_encode(text)}\r\n"
            f"--{b}\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: {'quoted-printable' if qp_html else '8bit'}\r\n\r\n"
            f"{qp_encode(html) if qp_html else html}\r\n--{b}--\r\n")


def text_part(text, enc="utf-8", cte="7bit"):
    if cte == "quoted-printable":
        body = qp_encode(text, enc)
    elif cte == "base64":
        body = b64_lines(text.encode(enc) if enc != "utf-16" else text.encode("utf-16"))
    else:
        body = text.replace("\n", "\r\n")
    return f"Content-Type: text/plain; charset=\"{enc}\"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{body}\r\n"


def rfc2047(s):
    return "=?utf-8?B?" + base64.b64encode(s.encode()).decode() + "?="


def message(r, idx):
    labels = {}
    shape = idx % 16
    subj = r.choice(["Q3 numbers", "Re: onboarding", "FW: payment details", "Statement", "Contract", "Follow-up"])
    if shape == 0:  # plain 7bit
        text = body_text(r, labels)
        raw = headers(r, subj, "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n") + "\r\n" + text.replace("\n", "\r\n") + "\r\n"
    elif shape == 1:  # QP with soft breaks anywhere (inside numbers)
        text = body_text(r, labels, n_pos=r.randrange(1, 3))
        raw = headers(r, subj, "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n") + "\r\n" + qp_encode(text, soft_every=r.randrange(20, 40)) + "\r\n"
    elif shape in (2, 3):  # Outlook multipart/alternative, HTML maybe obfuscated
        text = body_text(r, labels)
        raw = headers(r, subj) + alternative(r, text, html_obfuscate=(shape == 3))
        hdr, body = raw.split("Content-Type: multipart/alternative", 1)
        raw = hdr + "Content-Type: multipart/alternative" + body
    elif shape == 4:  # Windows-1252
        text = body_text(r, labels) + "\n\nGrüße aus Köln – 5 € fee, naïve café."
        cte = r.choice(["quoted-printable", "8bit"])
        if cte == "8bit":
            raw = (headers(r, subj, "Content-Type: text/plain; charset=\"windows-1252\"\r\nContent-Transfer-Encoding: 8bit\r\n") + "\r\n").encode() + text.replace("\n", "\r\n").encode("cp1252") + b"\r\n"
            return raw, labels
        raw = headers(r, subj, "Content-Type: text/plain; charset=\"windows-1252\"\r\nContent-Transfer-Encoding: quoted-printable\r\n") + "\r\n" + qp_encode(text, "cp1252") + "\r\n"
    elif shape == 5:  # UTF-16 base64
        text = body_text(r, labels, n_pos=r.randrange(1, 3))
        raw = headers(r, subj, "Content-Type: text/plain; charset=\"utf-16\"\r\nContent-Transfer-Encoding: base64\r\n") + "\r\n" + b64_lines(text.encode("utf-16")) + "\r\n"
    elif shape == 6:  # CSV attachment
        note = body_text(r, labels, n_pos=0, n_neg=1)
        rows = ["name,card,ssn"]
        for _ in range(r.randrange(1, 4)):
            c = make_card(r)
            s = make_ssn(r)
            labels["credit_card"] = labels.get("credit_card", 0) + 1
            # The "ssn" column header is the keyword: formatted SSNs are high.
            labels["us_ssn"] = labels.get("us_ssn", 0) + 1
            rows.append(f"Jordan Miles,{c},{s[:3]}-{s[3:5]}-{s[5:]}")
        raw = mixed(r, subj, [text_part(note), attach(r, "text/csv", "export.csv", ("\r\n".join(rows) + "\r\n").encode())])
    elif shape == 7:  # XLSX
        note = body_text(r, labels, n_pos=0, n_neg=1)
        rows = [["Name", "Card", "IBAN"]]
        for _ in range(r.randrange(1, 4)):
            c = make_card(r)
            labels["credit_card"] = labels.get("credit_card", 0) + 1
            iban = make_iban(r)
            labels["iban"] = labels.get("iban", 0) + 1
            rows.append(["Alex Chen", fmt_card(r, c), iban])
        rows.append(["Order", "Order #: " + luhn_complete("4" + digits(r, 14)), "n/a"])
        raw = mixed(r, subj, [text_part(note), attach(r, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "attachment q3.xlsx", xlsx_bytes(rows))])
    elif shape == 8:  # DOCX
        note = body_text(r, labels, n_pos=0, n_neg=1)
        doc_labels = {}
        doc = body_text(r, doc_labels, n_pos=r.randrange(1, 3))
        for k, v in doc_labels.items():
            labels[k] = labels.get(k, 0) + v
        raw = mixed(r, subj, [text_part(note), attach(r, "application/octet-stream", "Offer letter.docx", docx_bytes(doc, r))])
    elif shape == 9:  # PDF
        note = body_text(r, labels, n_pos=0, n_neg=1)
        doc_labels = {}
        doc = body_text(r, doc_labels, n_pos=r.randrange(1, 3))
        while "PRIVATE KEY" in doc:
            # PDF text is drawn line by line between operators; a PEM block
            # does not survive that (PDF text extraction is future work).
            doc_labels = {}
            doc = body_text(r, doc_labels, n_pos=r.randrange(1, 3))
        for k, v in doc_labels.items():
            labels[k] = labels.get(k, 0) + v
        raw = mixed(r, subj, [text_part(note), attach(r, "application/pdf", "statement.pdf", pdf_bytes(doc))])
    elif shape in (10, 11):  # forwarded chain: message/rfc822, maybe nested twice
        inner_labels = {}
        inner_text = body_text(r, inner_labels, n_pos=r.randrange(1, 3))
        inner = headers(r, "Original message", "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n") + "\r\n" + qp_encode(inner_text) + "\r\n"
        if shape == 11:
            b = boundary(r)
            inner = headers(r, "FW: Original message", f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n") + f"\r\n--{b}\r\n" + text_part("See below.") + f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n{inner}--{b}--\r\n"
        for k, v in inner_labels.items():
            labels[k] = labels.get(k, 0) + v
        top = body_text(r, labels, n_pos=0, n_neg=1)
        raw = mixed(r, "FW: " + subj, [alternative(r, top), f"Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"Original.eml\"\r\n\r\n{inner}"])
    elif shape == 12:  # zip containing a docx (nested archive)
        note = body_text(r, labels, n_pos=0, n_neg=1)
        doc_labels = {}
        doc = body_text(r, doc_labels, n_pos=r.randrange(1, 3))
        for k, v in doc_labels.items():
            labels[k] = labels.get(k, 0) + v
        z = zip_bytes({"readme.txt": "Documents for review.\r\n", "contracts/Offer.docx": docx_bytes(doc, r)})
        raw = mixed(r, subj, [text_part(note), attach(r, "application/zip", "documents.zip", z)])
    elif shape == 13:  # ODT
        note = body_text(r, labels, n_pos=0, n_neg=1)
        doc_labels = {}
        doc = body_text(r, doc_labels, n_pos=r.randrange(1, 3))
        for k, v in doc_labels.items():
            labels[k] = labels.get(k, 0) + v
        raw = mixed(r, subj, [text_part(note), attach(r, "application/vnd.oasis.opendocument.text", "notes.odt", odt_bytes(doc))])
    elif shape == 14:  # RFC 2047 subject carrying the value
        num = make_card(r)
        labels["credit_card"] = 1
        s = rfc2047(f"Visa {group4(num)} refund")
        text = body_text(r, labels, n_pos=0)
        raw = headers(r, s, "Content-Type: text/plain; charset=\"utf-8\"\r\n") + "\r\n" + text.replace("\n", "\r\n") + "\r\n"
    else:  # negatives only, in HTML, plus a text attachment mislabeled by name
        text = body_text(r, labels, n_pos=0, n_neg=r.randrange(2, 5))
        raw = mixed(r, subj, [alternative(r, text), attach(r, "application/octet-stream", "notes.bin", body_text(r, labels, n_pos=r.randrange(0, 2), n_neg=1).encode())])
    return raw.encode("utf-8") if isinstance(raw, str) else raw, labels


def main():
    labels = {}
    for f in os.listdir(OUT):
        if f.endswith(".eml"):
            os.remove(os.path.join(OUT, f))
    for i in range(320):
        raw, lab = message(R, i)
        name = f"m{i:03d}.eml"
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(raw)
        labels[name] = dict(sorted(lab.items()))
    with open(os.path.join(OUT, "labels.json"), "w") as fh:
        json.dump({
            "threshold": "medium",
            "engine": {
                "dictionaries": [{"name": "projects", "terms": PROJECTS, "case_sensitive": False, "whole_word": True}],
                "patterns": [{"name": "employee_id", "regex": "\\bEMP-\\d{6}\\b", "max_len": 10}],
            },
            "messages": labels,
        }, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
