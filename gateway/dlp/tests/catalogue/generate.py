#!/usr/bin/env python3
"""Labelled corpus for the detection catalogue (issue 15), written once to
catalogue.tsv beside this file (tab-separated: family, type, keyword, value).

Identifiers come from Faker where it has a provider for the type, otherwise
from random bodies completed by trying every check character; either way a
value is kept only if python-stdnum (an independent implementation of each
issuer's rule) accepts it. Types stdnum does not cover are generated from the
issuer's published algorithm written here, independently of cordon's Rust.
Secrets follow each provider's documented prefix, alphabet and length.
Hard negatives are look-alike values (phones, EAN/ISBN, dates, tracking and
invoice numbers, UUIDs, hashes, base64, versions).

Run (pinned):
  python3 -m venv /tmp/v && /tmp/v/bin/pip install python-stdnum==1.20 Faker==33.1.0
  /tmp/v/bin/python gateway/dlp/tests/catalogue/generate.py
"""
import base64, hashlib, importlib, os, random, re, string, uuid, zlib

import faker, stdnum
from faker import Faker

N = 200
rnd = random.Random(15)
# Some Faker providers (es_ES nif) draw from the module-level generator, not
# the instance one that seed_instance seeds: without this the corpus changed
# on every run.
random.seed(15)
HERE = os.path.dirname(os.path.abspath(__file__))

def digits(n): return ''.join(rnd.choice(string.digits) for _ in range(n))
def date6(order='ymd', y0=1940, y1=2005):
    y = rnd.randint(y0, y1); m = rnd.randint(1, 12); d = rnd.randint(1, 28)
    return y, m, d

def brute(mod, make, checks=string.digits, tries=20000):
    """make() -> body with '?' for the check character(s)."""
    m = importlib.import_module('stdnum.' + mod)
    out = set()
    for _ in range(tries):
        b = make()
        for c in checks:
            v = b.replace('?', c, 1)
            if '?' in v:
                for c2 in checks:
                    w = v.replace('?', c2, 1)
                    if m.is_valid(w): out.add(w); break
            elif m.is_valid(v):
                out.add(v); break
        if len(out) >= N: break
    return sorted(out)

def fk(loc, meth, mod):
    f = Faker(loc); f.seed_instance(15)
    m = importlib.import_module('stdnum.' + mod)
    out = set()
    for _ in range(N * 20):
        v = getattr(f, meth)()
        if m.is_valid(v): out.add(v)
        if len(out) >= N: break
    return sorted(out)

def luhn_ok(s):
    t = 0
    for i, c in enumerate(reversed(s)):
        d = int(c) * (2 if i % 2 else 1)
        t += d - 9 if d > 9 else d
    return t % 10 == 0

# type -> (keyword phrase, values)
IDS = {}
def add(name, kw, values):
    assert len(values) >= N, (name, len(values))
    IDS[name] = (kw, values[:N])

def ymd(fmt):
    y, m, d = date6()
    return fmt.format(yy=y % 100, mm=m, dd=d, yyyy=y)

add('de_tax_id', 'Steuer-ID', brute('de.idnr', lambda: rnd.choice('123456789') + ''.join(rnd.sample('0123456789', 9))[:8] + rnd.choice('0123456789') + '?'))
add('de_vat', 'USt-IdNr.', brute('de.vat', lambda: 'DE' + rnd.choice('123456789') + digits(7) + '?'))
add('fr_nir', 'numéro de sécurité sociale', fk('fr_FR', 'ssn', 'fr.nir'))
add('fr_vat', 'numéro de TVA', brute('fr.tva', lambda: 'FR??' + (lambda s: s)(next(x for x in iter(lambda: digits(9), None) if luhn_ok(x)))))
add('es_dni', 'DNI', fk('es_ES', 'nif', 'es.dni'))
add('es_nie', 'NIE', fk('es_ES', 'nie', 'es.nie'))
add('it_fiscal_code', 'codice fiscale', fk('it_IT', 'ssn', 'it.codicefiscale'))
add('it_vat', 'partita IVA', brute('it.iva', lambda: 'IT' + digits(7) + '%03d' % rnd.randint(1, 100) + '?'))
add('nl_bsn', 'BSN', fk('nl_NL', 'ssn', 'nl.bsn'))
add('nl_vat', 'btw-nummer', brute('nl.btw', lambda: 'NL' + digits(8) + '?B' + '%02d' % rnd.randint(1, 99)))
add('be_national_number', 'rijksregisternummer', brute('be.nn', lambda: ymd('{yy:02d}{mm:02d}{dd:02d}') + digits(3) + '??'))
add('be_vat', 'btw', brute('be.vat', lambda: 'BE0' + rnd.choice('123456789') + digits(6) + '??'))
add('at_social_security', 'Sozialversicherungsnummer', brute('at.vnr', lambda: rnd.choice('123456789') + digits(2) + '?' + ymd('{dd:02d}{mm:02d}{yy:02d}')))
add('at_vat', 'UID-Nummer', brute('at.uid', lambda: 'ATU' + digits(7) + '?'))
add('pl_pesel', 'PESEL', fk('pl_PL', 'pesel', 'pl.pesel'))
add('pl_nip', 'NIP', fk('pl_PL', 'nip', 'pl.nip'))
add('se_personnummer', 'personnummer', fk('sv_SE', 'ssn', 'se.personnummer'))
add('fi_hetu', 'henkilötunnus', fk('fi_FI', 'ssn', 'fi.hetu'))
add('dk_cpr', 'CPR-nummer', brute('dk.cpr', lambda: ymd('{dd:02d}{mm:02d}{yy:02d}') + '-' + digits(3) + '?'))
add('no_fodselsnummer', 'fødselsnummer', fk('no_NO', 'ssn', 'no.fodselsnummer'))
add('pt_nif', 'NIF', brute('pt.nif', lambda: rnd.choice('12356789') + digits(7) + '?'))
add('ro_cnp', 'CNP', fk('ro_RO', 'ssn', 'ro.cnp'))
add('hr_oib', 'OIB', fk('hr_HR', 'ssn', 'hr.oib'))
add('ee_isikukood', 'isikukood', fk('et_EE', 'ssn', 'ee.ik'))
add('gr_amka', 'AMKA', brute('gr.amka', lambda: ymd('{dd:02d}{mm:02d}{yy:02d}') + digits(4) + '?'))
add('uk_nhs_number', 'NHS number', brute('gb.nhs', lambda: rnd.choice('4689') + digits(8) + '?'))
add('us_itin', 'ITIN', fk('en_US', 'itin', 'us.itin'))
add('ca_sin', 'SIN', fk('en_CA', 'ssn', 'ca.sin'))
add('au_tfn', 'tax file number', brute('au.tfn', lambda: rnd.choice('123456789') + digits(7) + '?'))
add('nz_ird', 'IRD number', brute('nz.ird', lambda: rnd.choice(['', '1']) + rnd.choice('123456789') + digits(6) + '?', tries=40000))
add('in_aadhaar', 'Aadhaar', fk('en_IN', 'aadhaar_id', 'in_.aadhaar'))
add('in_pan', 'PAN', brute('in_.pan', lambda: ''.join(rnd.choice(string.ascii_uppercase) for _ in range(3)) + rnd.choice('ABCFGHJLPT') + rnd.choice(string.ascii_uppercase) + '%04d' % rnd.randint(1, 9999) + '?', checks=string.ascii_uppercase))
add('kr_rrn', '주민등록번호', brute('kr.rrn', lambda: ymd('{yy:02d}{mm:02d}{dd:02d}') + rnd.choice('12') + digits(5) + '?'))
add('cn_resident_id', '身份证号码', fk('zh_CN', 'ssn', 'cn.ric'))
add('br_cpf', 'CPF', fk('pt_BR', 'cpf', 'br.cpf'))
add('br_cnpj', 'CNPJ', fk('pt_BR', 'cnpj', 'br.cnpj'))
add('mx_curp', 'CURP', fk('es_MX', 'curp', 'mx.curp'))
add('ch_ahv', 'AHV-Nummer', fk('de_CH', 'ssn', 'ch.ssn'))
add('tr_tc_kimlik', 'TC Kimlik No', fk('tr_TR', 'ssn', 'tr.tckimlik'))
add('il_id', 'מספר זהות', fk('he_IL', 'ssn', 'il.idnr'))
add('cl_rut', 'RUT', fk('es_CL', 'rut', 'cl.rut'))
add('ar_cuit', 'CUIT', brute('ar.cuit', lambda: rnd.choice(['20', '23', '27', '30']) + digits(8) + '?'))

# No stdnum module: the issuers' published algorithms, written here.
def jp_check(b):
    s = sum(int(c) * w for c, w in zip(b, [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]))
    r = 11 - s % 11
    return b + str(0 if r >= 10 else r)
add('jp_my_number', 'マイナンバー', sorted({jp_check(digits(11)) for _ in range(N * 2)}))
def nric(prefix):
    b = digits(7)
    s = sum(int(c) * w for c, w in zip(b, [2, 7, 6, 5, 4, 3, 2])) + {'S': 0, 'T': 4}[prefix]
    return prefix + b + 'JZIHGFEDCBA'[s % 11]
add('sg_nric', 'NRIC', sorted({nric(rnd.choice('ST')) for _ in range(N * 2)}))
def medicare():
    b = rnd.choice('23456') + digits(7)
    c = sum(int(x) * w for x, w in zip(b, [1, 3, 7, 9, 1, 3, 7, 9])) % 10
    return b + str(c) + rnd.choice('123456789')
add('au_medicare', 'Medicare number', sorted({medicare() for _ in range(N * 2)}))
add('us_passport', 'passport number', sorted({rnd.choice('123456789') + digits(8) for _ in range(N * 2)}))
def us_dl():
    # State layouts (AAMVA members' published formats): CA A+7, OH AA+6,
    # TX 8, NY 9 (also 3-3-3), IL A+11 (A123-4567-8901), FL A+12
    # (A123-456-78-901-2), WI A+13, NJ A+14.
    L = lambda: rnd.choice(string.ascii_uppercase)
    st = rnd.choice(['CA', 'OH', 'TX', 'NY', 'IL', 'FL', 'WI', 'NJ'])
    if st == 'CA': return L() + digits(7)
    if st == 'OH': return L() + L() + digits(6)
    if st == 'TX': return rnd.choice('123456789') + digits(7)
    if st == 'NY':
        v = rnd.choice('123456789') + digits(8)
        return rnd.choice([v, v[:3] + ' ' + v[3:6] + ' ' + v[6:]])
    if st == 'IL': v = L() + digits(11); return rnd.choice([v, v[:4] + '-' + v[4:8] + '-' + v[8:]])
    if st == 'FL': v = L() + digits(12); return rnd.choice([v, '-'.join([v[:4], v[4:7], v[7:9], v[9:12], v[12:]])])
    if st == 'WI': return L() + digits(13)
    return L() + digits(14)
add('us_drivers_license', "driver's license", sorted({v for v in (us_dl() for _ in range(N * 2)) if len(set(re.sub(r'\D', '', v))) > 1}))
def bic():
    # ISO 9362: institution, an ISO 3166 country, location (second character
    # not 0: test BICs), optional branch; python-stdnum's bic checks the layout.
    cc = rnd.choice(['DE', 'FR', 'GB', 'IT', 'ES', 'NL', 'BE', 'CH', 'AT', 'US', 'JP', 'CN', 'SG', 'AU', 'CA', 'BR', 'IN', 'PL', 'SE', 'ZA'])
    loc = rnd.choice(string.ascii_uppercase + string.digits) + rnd.choice(string.ascii_uppercase + '123456789')
    up = lambda a, n: ''.join(rnd.choice(a) for _ in range(n))
    return up(string.ascii_uppercase, 4) + cc + loc + rnd.choice(['', 'XXX', up(string.ascii_uppercase + string.digits, 3)])
_bic = importlib.import_module('stdnum.bic')
add('swift_bic', 'BIC', sorted({v for v in (bic() for _ in range(N * 2)) if _bic.is_valid(v) and not re.search(r'XXXX|TEST|FAKE|YOUR', v)}))
add('uk_passport', 'passport number', sorted({rnd.choice('123456789') + digits(8) for _ in range(N * 2)}))

# ---- secrets: the providers' documented formats ----
A = {
 'Alnum': string.ascii_letters + string.digits, 'AlnumLower': string.ascii_lowercase + string.digits,
 'Alpha': string.ascii_letters, 'AlnumDash': string.ascii_letters + string.digits,
 'AlnumUnderscore': string.ascii_letters + string.digits, 'AlnumSlash': string.ascii_letters + string.digits,
 'B64Url': string.ascii_letters + string.digits, 'B64UrlDot': string.ascii_letters + string.digits,
 'B64UrlEq': string.ascii_letters + string.digits, 'B64UrlDotEq': string.ascii_letters + string.digits,
 'B64UrlSlash': string.ascii_letters + string.digits, 'B64Eq': string.ascii_letters + string.digits,
 'Hex': '0123456789abcdef', 'HexLower': '0123456789abcdef', 'HexDash': '0123456789abcdef',
 'HexDashX': '0123456789abcdef', 'UpperAlnum': string.ascii_uppercase + string.digits,
 'UpperAlnumDot': string.ascii_uppercase + string.digits, 'Bech32Upper': 'QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L',
}
B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
def rs(alpha, n): return ''.join(rnd.choice(alpha) for _ in range(n))
def crc_token(n30):
    v = zlib.crc32(n30.encode()) & 0xffffffff
    enc = ''
    for _ in range(6): enc = B62[v % 62] + enc; v //= 62
    return n30 + enc
SPECIAL = {
 'slack': lambda p, a: p + digits(12) + '-' + digits(13) + '-' + rs(A['Alnum'], 24),
 'slack_webhook': lambda p, a: p + 'T' + rs(string.ascii_uppercase + string.digits, 10) + '/B' + rs(string.ascii_uppercase + string.digits, 10) + '/' + rs(A['Alnum'], 24),
 'crc32': lambda p, a: p + crc_token(rs(A['Alnum'], 30)),
 'anthropic': lambda p, a: p + rs(A['B64Url'], 93) + 'AA',
 'sendgrid': lambda p, a: p + rs(A['B64Url'], 22) + '.' + rs(A['B64Url'], 43),
 'dynatrace': lambda p, a: p + rs(A['UpperAlnum'], 24) + '.' + rs(A['UpperAlnum'], 64),
 'discord': lambda p, a: p + digits(18) + '/' + rs(A['B64Url'], 68),
}
HEX = '0123456789abcdef'
def grafana_key():
    # A Grafana API key is base64 of {"k":<32 alnum>,"n":<key name>,"id":<org>}.
    j = '{"k":"%s","n":"%s","id":%d}' % (rs(A['Alnum'], 32), rs(string.ascii_lowercase + '-', rnd.randint(8, 20)), rnd.randint(1, 999))
    return base64.b64encode(j.encode()).decode()
def bedrock_short():
    # A presigned bedrock.amazonaws.com URL (SigV4 query), base64.
    q = ('bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256'
         '&X-Amz-Credential=ASIA%s%%2F2025%02d%02d%%2Fus-east-1%%2Fbedrock%%2Faws4_request'
         '&X-Amz-Date=2025%02d%02dT120000Z&X-Amz-Expires=43200&X-Amz-Security-Token=%s'
         '&X-Amz-Signature=%s&X-Amz-SignedHeaders=host&Version=1') % (
        rs(string.ascii_uppercase + '234567', 16), rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(1, 12),
        rnd.randint(1, 28), rs(A['Alnum'], rnd.randint(200, 600)), rs(HEX, 64))
    return base64.b64encode(q.encode()).decode()[28:]
# Rows whose documented format has more structure than prefix + alphabet +
# length: built here from that format (segment layouts, UUIDs, encodings).
FORMATS = {
 'harness_api_key': lambda p: p + rs(A['Alnum'] + '_', 22) + '.' + rs(HEX, 24) + '.' + rs(A['Alnum'], 20),
 'circleci_token': lambda p: p + rs(A['Alnum'], 22) + '_' + rs(HEX, 40),
 'langsmith_api_key': lambda p: p + rs(HEX, 32) + '_' + rs(HEX, 10),
 'resend_api_key': lambda p: p + rs(A['Alnum'], 8) + '_' + rs(A['Alnum'], 24),
 'cloudflare_origin_ca_key': lambda p: p + rs(HEX, 24) + '-' + rs(HEX, 146),
 'defined_networking_token': lambda p: p + rs(string.ascii_lowercase + string.digits, 26) + '-' + rs(string.ascii_lowercase + string.digits, 52),
 'onepassword_secret_key': lambda p: p + '-'.join(rs(A['UpperAlnum'], n) for n in rnd.choice([(6, 11, 5, 5, 5), (6, 6, 5, 5, 5, 5)])),
 'pinecone_api_key': lambda p: p + rs(A['Alnum'], rnd.choice([5, 6])) + '_' + rs(A['Alnum'], 63),
 'sourcegraph_token': lambda p: p + rnd.choice([rs(HEX, 16) + '_', 'local_', '']) + rs(HEX, 40),
 'saladcloud_api_key': lambda p: p + rs(A['Alnum'], rnd.randint(1, 7)) + '_' + rs(A['Alnum'], rnd.randint(7, 80)),
 'klaviyo_private_key': lambda p: p + rnd.choice(['', rs(A['Alnum'], 6) + '_']) + rs(HEX, 34),
 'grafana_api_key': lambda p: grafana_key(),
 'aws_bedrock_short_term_key': lambda p: p + bedrock_short(),
 'facebook_access_token': lambda p: p + rs(A['Alnum'], rnd.randint(100, 200)),
}
SECRETS = {}
src = open(os.path.join(HERE, '..', '..', 'src', 'detect', 'secrets.rs')).read()
for m in re.finditer(r'name: "(\w+)",.*?prefixes: &\[(.*?)\],\s+body: Charset::(\w+),\s+min: (\d+),\s+max: (\d+),\s+check: Check::(\w+)', src, re.S):
    name, pre, cs, mn, mx, ck = m.groups()
    prefixes = re.findall(r'"(.*?)"', pre)
    ck = {'None': None, 'Slack': 'slack', 'SlackWebhook': 'slack_webhook', 'Crc32': 'crc32', 'Anthropic': 'anthropic', 'SendGrid': 'sendgrid', 'Dynatrace': 'dynatrace', 'Discord': 'discord', 'Uuid': 'uuid', 'Parts': 'parts'}[ck]
    vals = set()
    while len(vals) < N:
        p = rnd.choice(prefixes)
        n = rnd.randint(int(mn), min(int(mx), int(mn) + 40))
        if name in FORMATS: v = FORMATS[name](p)
        elif ck == 'uuid': v = p + str(uuid.UUID(int=rnd.getrandbits(128)))
        else: v = SPECIAL[ck](p, cs) if ck else p + rs(A[cs], n)
        if re.search(r'(.)\1{5}|example|xxxx|test|1234567|abcdef|your|dummy|sample|fake', v, re.I): continue
        vals.add(v)
    SECRETS[name] = ('', sorted(vals))
def rsa_like(): return base64.b64encode(os.urandom(0) + bytes(rnd.getrandbits(8) for _ in range(300))).decode()
def openssh(kind):
    body = b'openssh-key-v1\x00' + b'\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01' + kind.encode() + bytes(rnd.getrandbits(8) for _ in range(200))
    b = base64.b64encode(body).decode()
    return '-----BEGIN OPENSSH PRIVATE KEY-----\n' + '\n'.join(b[i:i + 70] for i in range(0, len(b), 70)) + '\n-----END OPENSSH PRIVATE KEY-----'
def pem(label):
    b = rsa_like()
    return f'-----BEGIN {label}-----\n' + '\n'.join(b[i:i + 64] for i in range(0, len(b), 64)) + f'\n-----END {label}-----'
keys = [openssh(rnd.choice(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256'])) for _ in range(N // 2)]
keys += [pem(rnd.choice(['RSA PRIVATE KEY', 'EC PRIVATE KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'DSA PRIVATE KEY', 'PGP PRIVATE KEY BLOCK'])) for _ in range(N // 2)]
SECRETS['private_key'] = ('', keys)
def jwt():
    enc = lambda d: base64.urlsafe_b64encode(d.encode()).decode().rstrip('=')
    h = enc('{"alg":"%s","typ":"JWT"}' % rnd.choice(['HS256', 'RS256', 'ES256']))
    p = enc('{"sub":"%s","iat":%d}' % (uuid.UUID(int=rnd.getrandbits(128)), rnd.randint(1500000000, 1800000000)))
    return h + '.' + p + '.' + rs(A['B64Url'], 43)
SECRETS['jwt'] = ('', [jwt() for _ in range(N)])
SECRETS['database_url'] = ('', [f"{rnd.choice(['postgres', 'postgresql', 'mysql', 'mongodb', 'mongodb+srv', 'redis', 'amqp'])}://{rs(string.ascii_lowercase, 6)}:{rs(A['Alnum'], 16)}@{rs(string.ascii_lowercase, 8)}.internal:5432/app" for _ in range(N)])
SECRETS['azure_ad_client_secret'] = ('', [rs(A['Alnum'], 3) + str(rnd.randint(0, 9)) + 'Q~' + rs(A['Alnum'] + '_~.-', 34) for _ in range(N)])
SECRETS['aws_access_key'] = ('', [rnd.choice(['AKIA', 'ASIA', 'ABIA', 'ACCA']) + rs(string.ascii_uppercase + '234567', 16) for _ in range(N)])
SECRETS['github_token'] = ('', [rnd.choice(['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_']) + crc_token(rs(A['Alnum'], 30)) for _ in range(N)])

# ---- hard negatives ----
NEG = []
def neg(kind, v): NEG.append((kind, v))
for _ in range(800):
    neg('phone', rnd.choice(['+49 30 ', '+33 1 ', '+1 415 ', '0', '(0)', '+44 20 ']) + digits(3) + ' ' + digits(4))
    neg('phone', rnd.choice(['030-', '040 ', '089/', '06', '07']) + digits(8))
for _ in range(500):
    b = digits(12); s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(b)); neg('ean', b + str((10 - s % 10) % 10))
    b = '978' + digits(9); s = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(b)); neg('isbn', 'ISBN ' + b[:3] + '-' + b[3:4] + '-' + b[4:8] + '-' + b[8:] + '-' + str((10 - s % 10) % 10))
for _ in range(600):
    y, m, d = date6(y0=1990, y1=2030)
    neg('date', rnd.choice([f'{y}-{m:02d}-{d:02d}', f'{d:02d}.{m:02d}.{y}', f'{y}{m:02d}{d:02d}{rnd.randint(0,23):02d}{rnd.randint(0,59):02d}{rnd.randint(0,59):02d}', f'{y}-{m:02d}-{d:02d}T{rnd.randint(0,23):02d}:{rnd.randint(0,59):02d}:00Z']))
    neg('timestamp', str(rnd.randint(1_500_000_000, 1_900_000_000)) + rnd.choice(['', digits(3)]))
for _ in range(500):
    neg('tracking', rnd.choice(['1Z' + rs(string.ascii_uppercase + string.digits, 16), digits(12), digits(20), 'JJD' + digits(18), 'RR' + digits(9) + 'DE']))
    neg('invoice', rnd.choice(['INV-', 'RE-', 'Order #', 'PO ', 'Rechnung ']) + digits(rnd.randint(6, 12)))
for _ in range(400):
    neg('uuid', str(uuid.UUID(int=rnd.getrandbits(128))))
    neg('hash', hashlib.sha256(os.urandom(0) + digits(20).encode()).hexdigest()[:rnd.choice([32, 40, 64])])
    neg('base64', base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(12, 60)))).decode())
    neg('version', f'v{rnd.randint(0,20)}.{rnd.randint(0,99)}.{rnd.randint(0,999)}' + rnd.choice(['', f'-rc{rnd.randint(1,9)}', f'+build.{digits(6)}']))

# ---- added after the hard negatives, so that the values above stay as they were ----
# EU VAT numbers: every value accepted by stdnum.eu.vat (each member state's rule).
CIF_LETTERS = 'ABCDEFGHJNPQRSUVW'
VAT = {
 'es_vat': (lambda: 'ES' + rnd.choice([rnd.choice(CIF_LETTERS) + digits(7) + '?', digits(8) + '?']), string.digits + string.ascii_uppercase),
 'pl_vat': (lambda: 'PL' + rnd.choice('123456789') + digits(8) + '?', string.digits),
 'se_vat': (lambda: 'SE' + rnd.choice('25') + digits(8) + '?01', string.digits),
 'fi_vat': (lambda: 'FI' + digits(7) + '?', string.digits),
 'dk_vat': (lambda: 'DK' + rnd.choice('123456789') + digits(6) + '?', string.digits),
 'pt_vat': (lambda: 'PT' + rnd.choice('1235') + digits(7) + '?', string.digits),
 'ro_vat': (lambda: 'RO' + rnd.choice('123456789') + digits(rnd.randint(5, 8)) + '?', string.digits),
 'hr_vat': (lambda: 'HR' + digits(10) + '?', string.digits),
 'ee_vat': (lambda: 'EE10' + digits(6) + '?', string.digits),
 'gr_vat': (lambda: 'EL' + digits(8) + '?', string.digits),
 'ie_vat': (lambda: 'IE' + digits(7) + '?' + rnd.choice(['', 'H']), 'WABCDEFGHIJKLMNOPQRSTUV'),
 'lu_vat': (lambda: 'LU' + digits(6) + '??', string.digits),
 'cz_vat': (lambda: 'CZ' + rnd.choice('12345678') + digits(6) + '?', string.digits),
 'sk_vat': (lambda: 'SK' + rnd.choice('123456789') + digits(1) + rnd.choice('234789') + digits(6) + '?', string.digits),
 'si_vat': (lambda: 'SI' + rnd.choice('123456789') + digits(6) + '?', string.digits),
 'hu_vat': (lambda: 'HU' + digits(7) + '?', string.digits),
 'bg_vat': (lambda: 'BG' + digits(8) + '?', string.digits),
 'lt_vat': (lambda: 'LT' + rnd.choice([digits(7) + '1?', digits(10) + '1?']), string.digits),
 'lv_vat': (lambda: 'LV' + rnd.choice('456789') + digits(9) + '?', string.digits),
 'cy_vat': (lambda: 'CY' + rnd.choice('013459') + digits(7) + '?', string.ascii_uppercase),
 'mt_vat': (lambda: 'MT' + rnd.choice('123456789') + digits(5) + '??', string.digits),
}
for name, (make, checks) in VAT.items():
    add(name, 'VAT number', brute('eu.vat', make, checks=checks, tries=40000))
add('ie_pps', 'PPS number', brute('ie.pps', lambda: digits(7) + '?' + rnd.choice(['', 'A', 'W']), checks='WABCDEFGHIJKLMNOPQRSTUV'))
def rc():
    y, m, d = date6(y0=1954, y1=2005)
    return f'{y % 100:02d}{m + rnd.choice([0, 50]):02d}{d:02d}' + digits(3) + '?'
add('cz_birth_number', 'rodné číslo', brute('cz.rc', rc))
add('sk_birth_number', 'rodné číslo', brute('sk.rc', rc))
add('bg_egn', 'ЕГН', brute('bg.egn', lambda: ymd('{yy:02d}{mm:02d}{dd:02d}') + digits(3) + '?'))
add('lt_personal_code', 'asmens kodas', brute('lt.asmens', lambda: rnd.choice('3456') + ymd('{yy:02d}{mm:02d}{dd:02d}') + digits(3) + '?'))
add('lv_personal_code', 'personas kods', brute('lv.pvn', lambda: ymd('{dd:02d}{mm:02d}{yy:02d}') + rnd.choice('12') + digits(3) + '?'))
def emso():
    y, m, d = date6()
    return f'{d:02d}{m:02d}{y % 1000:03d}' + '50' + digits(3) + '?'
add('si_emso', 'EMŠO', brute('si.emso', emso))

# The hand-written detectors: Faker where it has the type, each value
# accepted by stdnum (cards: Luhn; SSN; IBAN; ABA routing numbers).
def fk_check(loc, make, check, n=N):
    f = Faker(loc); f.seed_instance(15)
    out = set()
    for _ in range(n * 20):
        v = make(f)
        if check(v): out.add(v)
        if len(out) >= n: break
    return sorted(out)
from stdnum import luhn as _luhn, iban as _iban
from stdnum.us import ssn as _ssn, rtn as _rtn
add('credit_card', 'card number', fk_check('en_US', lambda f: f.credit_card_number(rnd.choice(['visa16', 'mastercard', 'amex', 'discover'])), _luhn.is_valid))
add('us_ssn', 'SSN', fk_check('en_US', lambda f: f.ssn(), _ssn.is_valid))
add('aba_routing', 'routing number', fk_check('en_US', lambda f: f.aba(), _rtn.is_valid))
ibans = []
for loc in ['de_DE', 'fr_FR', 'en_GB', 'es_ES', 'it_IT', 'nl_NL', 'pl_PL', 'pt_PT']:
    ibans += fk_check(loc, lambda f: f.iban(), _iban.is_valid, n=N // 8 + 5)
add('iban', 'IBAN', sorted(set(ibans)))
# No stdnum module and Faker's en_GB NINOs use the ZZ placeholder prefix:
# HMRC's published allocation rules, written here (NIM39110).
def nino():
    while True:
        a = rnd.choice([c for c in string.ascii_uppercase if c not in 'DFIQUV'])
        b = rnd.choice([c for c in string.ascii_uppercase if c not in 'DFIOQUV'])
        if a + b not in ('BG', 'GB', 'NK', 'KN', 'TN', 'NT', 'ZZ'):
            d = digits(6)
            return rnd.choice([a + b + d + rnd.choice('ABCD'), f'{a}{b} {d[:2]} {d[2:4]} {d[4:]} ' + rnd.choice('ABCD')])
add('uk_nino', 'National Insurance number', sorted({nino() for _ in range(N * 2)}))
PLACEHOLDER = re.compile(r'(.)\1{5}|example|xxxx|test|1234567|abcdef|your|dummy|sample|fake|changeme|redacted|placeholder', re.I)
def azure_key():
    while True:
        k = base64.b64encode(bytes(rnd.getrandbits(8) for _ in range(64))).decode()
        if not PLACEHOLDER.search(k): return 'DefaultEndpointsProtocol=https;AccountName=' + rs(string.ascii_lowercase, 10) + ';AccountKey=' + k + ';EndpointSuffix=core.windows.net'
SECRETS['azure_storage_key'] = ('', sorted({azure_key() for _ in range(N)}))
def shannon(v):
    import math
    return -sum(v.count(c) / len(v) * math.log2(v.count(c) / len(v)) for c in set(v))
def assignment():
    # The documented shape: 12-128 characters, letters and digits, at least
    # 3.4 bits of entropy per character, not a placeholder.
    while True:
        v = rs(A['Alnum'], rnd.randint(14, 28))
        if any(c.isdigit() for c in v) and any(c.isalpha() for c in v) and shannon(v) >= 3.4 and not PLACEHOLDER.search(v):
            return rnd.choice(['password', 'db_password', 'api_key', 'secret', 'token', 'apiKey']) + rnd.choice(['=', ' = ', ': ', '="']) + v
def closed(a): return a + '"' if '="' in a else a
SECRETS['generic_secret'] = ('', sorted({closed(assignment()) for _ in range(N)}))

with open(os.path.join(HERE, 'catalogue.tsv'), 'w', encoding='utf-8') as f:
    f.write(f'# generated by generate.py; python-stdnum {stdnum.__version__}, Faker {faker.VERSION}, seed 15\n')
    for name, (kw, vals) in sorted(IDS.items()):
        for v in vals: f.write(f'identifier\t{name}\t{kw}\t{v}\n')
    for name, (kw, vals) in sorted(SECRETS.items()):
        for v in vals: f.write('secret\t%s\t%s\t%s\n' % (name, kw, v.replace('\n', '\\n')))
    for kind, v in NEG: f.write(f'negative\t{kind}\t\t{v}\n')
print(len(IDS), 'identifier types,', len(SECRETS), 'secret types,', len(NEG), 'hard negatives')
