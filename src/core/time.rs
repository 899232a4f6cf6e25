//! Time as freshen reads and words it: pure functions, no clock. One
//! duration grammar and one RFC 3339 parser for the whole program.

use std::time::Duration;

/// `3 weeks ago`, as `docker images` says it.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (n, unit) = match s {
        0..=59 => return "just now".into(),
        60..=3599 => (s / 60, "minute"),
        3600..=86_399 => (s / 3600, "hour"),
        86_400..=1_209_599 => (s / 86_400, "day"),
        1_209_600..=5_183_999 => (s / 604_800, "week"),
        5_184_000..=63_071_999 => (s / 2_592_000, "month"),
        _ => (s / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// `7d`, `12h`, `30m`, `90s`, `2w`, or a combination (`1d12h`), in seconds.
pub fn duration_secs(input: &str) -> Result<i64, String> {
    let bad = || format!("invalid duration '{input}': use a number with a unit, like 7d, 12h, 30m or 1w");
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in input.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(bad());
    }
    Ok(total)
}

/// Parses `90s`, `30m`, `12h`, `7d`, `2w` and sums like `1d12h`, with the
/// same grammar as every other duration freshen reads; zero is refused,
/// since "announce again after no time" means every run.
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration_secs(text) {
        Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs as u64)),
        _ => Err(format!("'{text}' is not a duration: use a number and a unit, like 12h, 7d or 1d12h")),
    }
}

/// RFC 3339 (`2026-01-02T03:04:05Z`, any offset, any fraction) to seconds
/// since the epoch: the one parser for every timestamp freshen reads.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An RFC 3339 time with its fraction, in nanoseconds since the epoch.
pub fn parse_rfc3339_nanos(text: &str) -> Option<i128> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

/// Seconds since the epoch as RFC 3339 in UTC.
pub fn format_rfc3339(unix: i64) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_secs("7d"), Ok(604_800));
        assert_eq!(duration_secs("12h"), Ok(43_200));
        assert_eq!(duration_secs("1d12h"), Ok(129_600));
        assert_eq!(duration_secs("2w"), Ok(1_209_600));
        assert_eq!(duration_secs("0d"), Ok(0));
        for bad in ["7", "d", "7y", "", "1.5h"] {
            assert!(duration_secs(bad).unwrap_err().starts_with("invalid duration"), "{bad}");
        }
        assert_eq!(positive_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(positive_duration("1d12h").unwrap(), Duration::from_secs(129_600));
        for bad in ["", "12", "h", "1x", "0d", "99999999999999999999w", "1.5h"] {
            let e = positive_duration(bad).unwrap_err();
            assert!(e.contains("is not a duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn rfc3339_both_ways() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-01-02T04:04:05.5+01:00"), parse_rfc3339("2026-01-02T03:04:05Z"));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(format_rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(format_rfc3339(86_400).and_then(|t| parse_rfc3339(&t)), Some(86_400));
    }
}
