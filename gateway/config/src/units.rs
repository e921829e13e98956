//! Human units in config values.

use std::time::Duration;

/// Parses `35MiB`, `10MB`, `512KiB`, `1GiB`, `1000` (bytes). Binary prefixes are powers of 1024,
/// SI prefixes powers of 1000.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits == 0 {
        return Err(format!("`{s}` is not a size (examples: 35MiB, 10MB, 4096)"));
    }
    let n: u64 = s[..digits]
        .parse()
        .map_err(|_| format!("`{s}` is too large"))?;
    let mult: u64 = match s[digits..].trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        u => {
            return Err(format!(
                "unknown size unit `{u}` (use B, KiB, MiB, GiB, kB, MB or GB)"
            ))
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Parses `30s`, `5m`, `1h 30m`, `250ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}; examples: 30s, 5m, 250ms)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("35MiB"), Ok(35 << 20));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        let err = |s| parse_size(s).unwrap_err();
        assert!(
            err("MiB").starts_with("`MiB` is not a size"),
            "{}",
            err("MiB")
        );
        assert!(err("3 parsecs").starts_with("unknown size unit `parsecs`"));
        // Too many digits for u64, and a number that overflows once multiplied.
        assert_eq!(
            err("99999999999999999999GiB"),
            "`99999999999999999999GiB` is too large"
        );
        assert_eq!(err("17179869184GiB"), "`17179869184GiB` is too large");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        let e = parse_duration("soon").unwrap_err();
        assert!(e.starts_with("`soon` is not a duration ("), "{e}");
    }
}
