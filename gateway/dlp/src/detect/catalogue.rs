//! What the built-in detectors are, for people and for rules: one
//! [`DetectorInfo`] per detector (country, check, keywords, confidence
//! rules, source), read from the same tables the engine runs, and the
//! bundles a rule's `match` may name (`pci`, `gdpr`, `hipaa`, `secrets`,
//! `id_de`...).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;

use super::{ids, secrets, CORE};
use crate::findings::Confidence;

/// One built-in detector, as `cordon detectors` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct DetectorInfo {
    /// The name a rule's `match` uses.
    pub name: &'static str,
    /// `identifier`, `financial` or `secret`.
    pub family: &'static str,
    /// ISO 3166 country code, `INT`, or the provider for secrets.
    pub country: &'static str,
    /// What the issuer or provider calls it.
    pub label: &'static str,
    /// The check a value must pass.
    pub validator: String,
    /// Supporting keywords.
    pub keywords: Vec<&'static str>,
    /// How confidence is decided.
    pub confidence: String,
    /// Confidence of a valid value with no keyword nearby (`None`: not
    /// reported without one).
    pub alone: Option<Confidence>,
    /// Confidence with a supporting keyword within 300 characters.
    pub with_keyword: Confidence,
    /// The issuer's or provider's specification.
    pub source: &'static str,
}

/// (name, family, country, label, validator, confidence rule, source).
type CoreInfo = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// The hand-written detectors. Their keywords live in `keywords.rs`.
const CORE_INFO: &[CoreInfo] = &[
    ("credit_card", "financial", "INT", "Payment card number (PAN)", "issuer ranges (Visa, Mastercard 2-series, Amex, Discover, Diners, JCB incl. 15-digit 1800/2131, UnionPay incl. 81, Maestro 12-19, Mir 2200-2204), Luhn, not a published test card", "medium alone (12-13 digits low: EAN-13 look-alikes), high with a card keyword, low after an order/tracking label", "https://www.iso.org/standard/70484.html (ISO/IEC 7812-1)"),
    ("us_ssn", "identifier", "US", "Social Security number", "SSA rules: area not 000/666/900-999, group not 00, serial not 0000, not an advertised number", "low formatted alone, high formatted with keyword, medium unformatted with keyword", "https://www.ssa.gov/employer/randomization.html"),
    ("iban", "financial", "INT", "International Bank Account Number", "SWIFT IBAN registry country length, ISO 13616 mod 97", "high alone", "https://www.swift.com/standards/data-standards/iban-international-bank-account-number"),
    ("aba_routing", "financial", "US", "ABA routing transit number", "Federal Reserve prefix, 3-7-1 checksum", "low alone, medium with keyword", "https://www.frbservices.org/resources/routing-number-directory"),
    ("uk_nino", "identifier", "GB", "National Insurance number", "HMRC prefix and suffix rules", "medium alone, high with keyword", "https://www.gov.uk/hmrc-internal-manuals/national-insurance-manual/nim39110"),
    ("private_key", "secret", "INT", "Private key (PEM: OpenSSH, RSA, EC, DSA, PKCS#8, encrypted PKCS#8, PGP; PuTTY)", "BEGIN … PRIVATE KEY armour with a base64 body (OpenSSH: openssh-key-v1 magic), encrypted or not", "high", "https://www.rfc-editor.org/rfc/rfc7468 ; https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.key"),
    ("aws_access_key", "secret", "AWS", "AWS access key id (AKIA, ASIA, ABIA, ACCA)", "prefix + 16 upper-case alphanumerics, not AWS's documented example", "high", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids"),
    ("github_token", "secret", "GitHub", "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)", "CRC32 base62 checksum for 36-character bodies; long ghs_ installation tokens by structure", "high", "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/"),
    ("azure_storage_key", "secret", "Azure", "Azure storage account key", "AccountKey= + 86 base64 characters + ==, not the Azurite key", "high", "https://learn.microsoft.com/en-us/azure/storage/common/storage-account-keys-manage"),
    ("jwt", "secret", "INT", "JSON Web Token", "three base64url segments, header decodes to a JSON object with alg, signed unless alg none", "medium", "https://www.rfc-editor.org/rfc/rfc7519"),
    ("database_url", "secret", "INT", "Database / broker URL with a password", "postgres, mysql, mariadb, mongodb(+srv), redis(s), amqp(s), mssql URL with user:password@host, password not a placeholder", "high", "https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1"),
    ("azure_ad_client_secret", "secret", "Azure", "Microsoft Entra ID (Azure AD) client secret", "3 characters, a digit, Q~, 31-34 characters", "high", "https://learn.microsoft.com/en-us/entra/identity-platform/how-to-add-credentials"),
    ("generic_secret", "secret", "INT", "password / secret / token / api_key assignment", "key, = or :, a value of 12-128 characters with letters and digits and >= 3.4 bits/char entropy, not a placeholder", "low (reported, below the default threshold)", "https://cwe.mitre.org/data/definitions/798.html"),
    ("swift_bic", "financial", "INT", "SWIFT/BIC business identifier code", "4 letters, an ISO 3166 country, a 2-character location (second not 0: test BICs), optional 3-character branch; read only after a BIC, SWIFT, BIC code or SWIFT code label", "not reported without a keyword; medium with one", "https://www.swift.com/standards/data-standards/bic-business-identifier-code (ISO 9362)"),
];

fn conf_rule(alone: Option<Confidence>, with: Confidence) -> String {
    match alone {
        Some(c) => format!("{c} alone, {with} with a keyword within 300 characters"),
        None => {
            format!("not reported without a keyword; {with} with a keyword within 300 characters")
        }
    }
}

/// The no-keyword confidence of the hand-written detectors (for an
/// unformatted value where the format matters: SSN, card).
fn core_alone(name: &str) -> Option<Confidence> {
    match name {
        "credit_card" | "uk_nino" | "jwt" => Some(Confidence::Medium),
        "us_ssn" | "aba_routing" | "generic_secret" => Some(Confidence::Low),
        "swift_bic" => None,
        _ => Some(Confidence::High),
    }
}

/// Every built-in detector, in engine id order.
pub fn detectors() -> Vec<DetectorInfo> {
    let mut out: Vec<DetectorInfo> = CORE_INFO
        .iter()
        .map(
            |&(name, family, country, label, validator, confidence, source)| DetectorInfo {
                name,
                family,
                country,
                label,
                validator: validator.to_string(),
                keywords: super::keywords::builtin_keywords(name).to_vec(),
                confidence: confidence.to_string(),
                alone: core_alone(name),
                with_keyword: match name {
                    "aba_routing" | "jwt" | "swift_bic" => Confidence::Medium,
                    "generic_secret" => Confidence::Low,
                    _ => Confidence::High,
                },
                source,
            },
        )
        .collect();
    debug_assert!(out.iter().map(|d| d.name).eq(CORE.iter().copied()));
    out.extend(ids::IDS.iter().map(|t| DetectorInfo {
        name: t.name,
        family: "identifier",
        country: t.country,
        label: t.label,
        validator: format!("{}; shape {}", t.check_doc, t.shapes.join(" or ")),
        keywords: t.keywords.to_vec(),
        confidence: conf_rule(t.alone, t.with_keyword),
        alone: t.alone,
        with_keyword: t.with_keyword,
        source: t.source,
    }));
    out.extend(secrets::SECRETS.iter().map(|t| DetectorInfo {
        name: t.name,
        family: "secret",
        country: t.provider,
        label: t.label,
        validator: format!(
            "prefix {} + {}-{} of {}; {}",
            t.prefixes.join(" | "),
            t.min,
            t.max,
            t.body.describe(),
            t.check.describe()
        ),
        keywords: Vec::new(),
        confidence: format!("{} (the prefix is the evidence)", t.confidence),
        alone: Some(t.confidence),
        with_keyword: t.confidence,
        source: t.source,
    }));
    out
}

/// EU and EEA countries: `gdpr` is their personal identifiers plus IBAN.
const GDPR_COUNTRIES: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
];

static BUNDLES: LazyLock<BTreeMap<String, Vec<&'static str>>> = LazyLock::new(|| {
    let mut b: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    b.insert("pci".into(), vec!["credit_card"]);
    b.insert(
        "hipaa".into(),
        vec![
            "us_ssn",
            "us_itin",
            "us_passport",
            "us_drivers_license",
            "aba_routing",
            "credit_card",
        ],
    );
    let all = detectors();
    b.insert(
        "secrets".into(),
        all.iter()
            .filter(|d| d.family == "secret")
            .map(|d| d.name)
            .collect(),
    );
    let mut gdpr: Vec<&'static str> = all
        .iter()
        .filter(|d| d.family == "identifier" && GDPR_COUNTRIES.contains(&d.country))
        .map(|d| d.name)
        .collect();
    gdpr.push("iban");
    b.insert("gdpr".into(), gdpr);
    for d in all.iter().filter(|d| d.family == "identifier") {
        b.entry(format!("id_{}", d.country.to_ascii_lowercase()))
            .or_default()
            .push(d.name);
    }
    b
});

/// The detectors a bundle name stands for, if `name` is a bundle.
pub fn bundle(name: &str) -> Option<&'static [&'static str]> {
    BUNDLES.get(name).map(Vec::as_slice)
}

/// Every bundle and its members.
pub fn bundles() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    BUNDLES.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
}

/// `cordon detectors`: one block per detector, then the bundles.
pub fn render_table() -> String {
    use std::fmt::Write as _;
    let all = detectors();
    let mut out = String::new();
    for fam in ["financial", "identifier", "secret"] {
        let n = all.iter().filter(|d| d.family == fam).count();
        let _ = writeln!(out, "== {fam} ({n}) ==");
        for d in all.iter().filter(|d| d.family == fam) {
            let _ = writeln!(out, "{:<32} {:<14} {}", d.name, d.country, d.label);
            let _ = writeln!(out, "    check:      {}", d.validator);
            if !d.keywords.is_empty() {
                let _ = writeln!(out, "    keywords:   {}", d.keywords.join(", "));
            }
            let _ = writeln!(out, "    confidence: {}", d.confidence);
            let _ = writeln!(out, "    source:     {}", d.source);
        }
    }
    let _ = writeln!(out, "== bundles (usable in a rule's match) ==");
    for (b, members) in bundles() {
        let _ = writeln!(out, "{b:<10} {}", members.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_described_once_in_id_order() {
        let names: Vec<&str> = detectors().iter().map(|d| d.name).collect();
        assert_eq!(names, *super::super::BUILTINS);
        for d in detectors() {
            assert!(d.source.starts_with("https://"), "{}", d.name);
        }
    }

    #[test]
    fn bundles_name_known_detectors() {
        let names: Vec<&str> = detectors().iter().map(|d| d.name).collect();
        for (b, members) in bundles() {
            assert!(!members.is_empty(), "{b}");
            for m in members {
                assert!(names.contains(m), "{b}: {m}");
            }
        }
        assert!(bundle("gdpr").unwrap().contains(&"fr_nir"));
        assert!(!bundle("gdpr").unwrap().contains(&"us_ssn"));
        assert_eq!(bundle("id_de").unwrap(), &["de_tax_id", "de_vat"]);
        assert!(bundle("secrets").unwrap().contains(&"slack_bot_token"));
        assert!(bundle("secrets").unwrap().contains(&"private_key"));
        assert_eq!(bundle("pci").unwrap(), &["credit_card"]);
        assert!(bundle("hipaa").unwrap().contains(&"us_drivers_license"));
        let secrets = bundle("secrets").unwrap();
        for t in super::secrets::SECRETS {
            assert!(secrets.contains(&t.name), "{}", t.name);
        }
        assert!(bundle("credit_card").is_none());
    }

    #[test]
    fn the_table_lists_every_detector_and_bundle() {
        let t = render_table();
        for d in detectors() {
            assert!(t.contains(&format!("{:<32} ", d.name)), "{}", d.name);
        }
        assert!(t.contains("\ngdpr "), "bundles listed");
    }
}
