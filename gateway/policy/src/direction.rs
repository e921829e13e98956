//! Which way a message travels, from the envelope and `[organization] domains`.

use cordon_config::Direction;

/// Whether `address` belongs to one of the organisation's domains (or a
/// subdomain of one). Case-insensitive; a trailing dot on either side is
/// ignored. The null sender (`""`) and addresses without `@` are outside.
pub fn is_internal(address: &str, org_domains: &[String]) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    org_domains.iter().any(|d| {
        let d = d.trim_end_matches('.').trim_start_matches('@');
        if d.is_empty() {
            return false;
        }
        let d = d.to_ascii_lowercase();
        domain == d
            || (domain.len() > d.len()
                && domain.ends_with(&d)
                && domain.as_bytes()[domain.len() - d.len() - 1] == b'.')
    })
}

/// Outbound: internal sender and at least one external recipient. Inbound:
/// external sender (including the null sender of bounces). Internal: sender
/// and every recipient inside. Never returns [`Direction::Any`].
pub fn direction(sender: &str, rcpts: &[String], org_domains: &[String]) -> Direction {
    if !is_internal(sender, org_domains) {
        Direction::Inbound
    } else if rcpts.iter().any(|r| !is_internal(r, org_domains)) {
        Direction::Outbound
    } else {
        Direction::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Vec<String> {
        vec!["contoso.com".into(), "Fabrikam.EU".into()]
    }

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matrix() {
        let o = org();
        let cases = [
            ("a@contoso.com", v(&["b@example.net"]), Direction::Outbound),
            (
                "a@contoso.com",
                v(&["b@contoso.com", "c@example.net"]),
                Direction::Outbound,
            ),
            (
                "a@contoso.com",
                v(&["b@contoso.com", "c@fabrikam.eu"]),
                Direction::Internal,
            ),
            ("a@example.net", v(&["b@contoso.com"]), Direction::Inbound),
            ("a@example.net", v(&["b@example.org"]), Direction::Inbound),
            ("", v(&["b@contoso.com"]), Direction::Inbound),
            (
                "A@MAIL.Contoso.COM",
                v(&["b@sub.fabrikam.eu."]),
                Direction::Internal,
            ),
            (
                "a@notcontoso.com",
                v(&["b@contoso.com"]),
                Direction::Inbound,
            ),
            (
                "a@contoso.com.evil.net",
                v(&["b@contoso.com"]),
                Direction::Inbound,
            ),
            ("a@contoso.com", v(&[]), Direction::Internal),
        ];
        for (s, r, want) in cases {
            assert_eq!(direction(s, &r, &o), want, "{s} -> {r:?}");
        }
    }

    #[test]
    fn odd_addresses_are_outside() {
        let o = org();
        assert!(!is_internal("contoso.com", &o));
        assert!(!is_internal("a@", &o));
        assert!(!is_internal("a@.", &o));
        assert!(is_internal("x@Contoso.com", &o));
        assert!(!is_internal("x@contoso.com", &[String::new()]));
        assert!(is_internal("x@contoso.com", &["@contoso.com".to_string()]));
    }
}
