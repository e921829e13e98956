//! Times as an administrator reads them: RFC 3339 in UTC (what JSON carries too), and "3 min
//! ago" beside it where the distance matters (status, `incidents show`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now (0 if the clock is before 1970).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-12-05T13:01:11Z`.
pub(crate) fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(unix)).to_string()
}

/// `2026-12-05T13:01:11.042Z`: log lines, where the order within a second matters.
pub(crate) fn rfc3339_ms(unix_ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(unix_ms)).to_string()
}

/// `2026-12-05T13:01:11Z (3 min ago)`, or `(in 12 days)` for a time still to come.
pub(crate) fn with_ago(unix: u64, now: u64) -> String {
    format!("{} ({})", rfc3339(unix), ago(unix, now))
}

/// How far `unix` is from `now`, in the largest whole unit: `42 s ago`, `3 min ago`,
/// `5 h ago`, `12 days ago`, `in 80 days`.
pub(crate) fn ago(unix: u64, now: u64) -> String {
    let (d, past) = if unix <= now {
        (now - unix, true)
    } else {
        (unix - now, false)
    };
    let span = span(d);
    if past {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

/// `42 s`, `3 min`, `5 h`, `1 day`, `12 days`.
pub(crate) fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        86_400..172_800 => "1 day".to_owned(),
        _ => format!("{} days", secs / 86_400),
    }
}

/// `--after`: an RFC 3339 time (`2026-12-05T13:00:00Z`, or `2026-12-05 13:00:00` read as
/// UTC), or a duration back from `now` (`10m`, `2h`, `3days`).
pub(crate) fn parse_after(s: &str, now: u64) -> Result<u64, String> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    }
    match humantime::parse_duration(s) {
        Ok(d) => Ok(now.saturating_sub(d.as_secs())),
        Err(_) => Err(format!(
            "{s:?} is neither a time (2026-12-05T13:00:00Z) nor a duration back from now (10m, 2h, 3days)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_and_distances_in_one_unit() {
        assert_eq!(rfc3339(1_796_397_756), "2026-12-04T15:22:36Z");
        let now = 1_796_397_756;
        assert_eq!(ago(now - 42, now), "42 s ago");
        assert_eq!(ago(now - 180, now), "3 min ago");
        assert_eq!(ago(now - 5 * 3600 - 59, now), "5 h ago");
        assert_eq!(ago(now - 86_400, now), "1 day ago");
        assert_eq!(ago(now + 80 * 86_400, now), "in 80 days");
        assert_eq!(with_ago(now - 180, now), "2026-12-04T15:19:36Z (3 min ago)");
    }

    #[test]
    fn after_takes_a_time_or_a_duration_back() {
        let now = 1_796_397_756;
        assert_eq!(parse_after("2026-12-04T15:22:36Z", now), Ok(now));
        assert_eq!(parse_after("2026-12-04 15:22:36", now), Ok(now));
        assert_eq!(parse_after("10m", now), Ok(now - 600));
        assert!(parse_after("yesterday", now)
            .unwrap_err()
            .contains("neither a time"));
    }
}
