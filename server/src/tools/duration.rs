//! kubectl-style durations: `30s`, `2m`, `1h30m`, `2d`, `500ms`, or bare seconds.

use std::time::Duration;

/// Parses a duration; `0`, `""` and `0s` mean zero.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let bad = || format!("{text:?} is not a duration; use e.g. 30s, 2m or 1h30m");
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            "d" => value * 86400.0,
            _ => return Err(bad()),
        };
        // A client's number can be beyond what a Duration holds: an error, not a panic.
        total = Duration::try_from_secs_f64(secs)
            .ok()
            .and_then(|d| total.checked_add(d))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<u64>)] = &[
            ("", Some(0)),
            ("0", Some(0)),
            ("0s", Some(0)),
            ("45", Some(45_000)),
            ("30s", Some(30_000)),
            ("2m", Some(120_000)),
            ("1h30m", Some(5_400_000)),
            ("1m30s", Some(90_000)),
            ("500ms", Some(500)),
            ("2d", Some(172_800_000)),
            ("1.5s", Some(1_500)),
            ("abc", None),
            ("10x", None),
            ("m", None),
            ("-5s", None),
            // Found by fuzzing (server/fuzz/corpus/duration): these panicked.
            ("99999999999999999999s", None),
            ("111111111111111111111111111111111s", None),
            ("9999999999999999999d9999999999999999999d", None),
            ("18446744073709551615s1s", None),
        ];
        for (text, want) in cases {
            let got = parse(text).ok().map(|d| d.as_millis() as u64);
            assert_eq!(got, *want, "{text}");
        }
    }
}
