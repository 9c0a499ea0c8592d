//! Dates as people and spreadsheets write them.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, Utc};

/// Which number comes first in `05/03/2024`: the day (Europe, default `false` = the month, as US exports do).
/// Dates that are unambiguous (`2024/3/5`, `2024年3月5日`, `25/03/2024`) never depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayMonthOrder {
    #[default]
    MonthFirst,
    DayFirst,
}

/// Parses a date: ISO `2024-03-05` (also with a time), `2024/3/5`, `2024.3.5`, `2024年3月5日`, `20240305`,
/// `05.03.2024` (day first, the German style), `3/5/2024` by `order`, `Mar 5, 2024`, `5 March 2024`, and Excel
/// serial numbers (`45356` = 2024-03-05).
///
/// ```
/// use guanxi_io::dates::{parse_date, DayMonthOrder};
/// use chrono::NaiveDate;
/// let d = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap();
/// for s in ["2024-03-05", "2024/3/5", "2024年3月5日", "05.03.2024", "45356", "Mar 5, 2024", "2024-03-05T08:00:00Z"] {
///     assert_eq!(parse_date(s, DayMonthOrder::MonthFirst), Ok(d), "{s}");
/// }
/// ```
pub fn parse_date(raw: &str, order: DayMonthOrder) -> Result<NaiveDate, String> {
    let s = raw.trim();
    let bad = || format!("{s:?} is not a date (write it as 2024-03-05)");
    if s.is_empty() {
        return Err(bad());
    }
    // Chinese: 2024年3月5日 (the 日 is optional).
    if let Some((y, rest)) = s.split_once('年') {
        let (m, d) = rest.split_once('月').ok_or_else(bad)?;
        let d = d.trim_end_matches(['日', '号']);
        return ymd(y, m, d).ok_or_else(bad);
    }
    // A time part after the date: ISO `T` or a space.
    let date_part = match s.split_once(['T', ' ']) {
        Some((d, time)) if time.contains(':') => d,
        _ => s,
    };
    if date_part.chars().all(|c| c.is_ascii_digit()) {
        return match date_part.len() {
            8 => ymd(&date_part[..4], &date_part[4..6], &date_part[6..]).ok_or_else(bad),
            1..=7 => excel_serial(date_part.parse::<i64>().map_err(|_| bad())?).ok_or_else(bad),
            _ => Err(bad()),
        };
    }
    // Excel serial with a time fraction: 45356.5
    if let Some((whole, frac)) = s.split_once('.')
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c.is_ascii_digit())
        && !whole.is_empty()
        && whole.len() <= 7
        && s.matches('.').count() == 1
    {
        return excel_serial(whole.parse::<i64>().map_err(|_| bad())?).ok_or_else(bad);
    }
    let parts: Vec<&str> = date_part.split(['-', '/', '.']).collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        let sep_dot = date_part.contains('.');
        return if parts[0].len() == 4 {
            ymd(parts[0], parts[1], parts[2]).ok_or_else(bad)
        } else if parts[2].len() == 4 || parts[2].len() == 2 {
            let year = if parts[2].len() == 2 { format!("20{}", parts[2]) } else { parts[2].to_string() };
            let (a, b) = (parts[0].parse::<u32>().map_err(|_| bad())?, parts[1].parse::<u32>().map_err(|_| bad())?);
            // Unambiguous when one number cannot be a month; dots mean day first (05.03.2024).
            let day_first = if a > 12 {
                true
            } else if b > 12 {
                false
            } else {
                sep_dot || order == DayMonthOrder::DayFirst
            };
            let (d, m) = if day_first { (a, b) } else { (b, a) };
            ymd(&year, &m.to_string(), &d.to_string()).ok_or_else(bad)
        } else {
            Err(bad())
        };
    }
    for fmt in ["%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%d-%b-%Y", "%d-%b-%y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Ok(d);
        }
    }
    Err(bad())
}

/// Parses a moment: RFC 3339 (`2024-03-05T14:30:00+08:00`, `…Z`), or a date in any form [`parse_date`] takes
/// followed by an optional time (`2024/3/5 14:30`, `2024年3月5日 14:30:15`, `2024-03-05T14:30`), read at
/// `utc_offset_minutes` from UTC; a date alone is midnight there. Excel serials with a fraction keep their time.
///
/// ```
/// use guanxi_io::dates::{parse_datetime, DayMonthOrder};
/// let t = parse_datetime("2024/3/5 14:30", DayMonthOrder::MonthFirst, 480).unwrap();
/// assert_eq!(t.to_rfc3339(), "2024-03-05T06:30:00+00:00");
/// ```
pub fn parse_datetime(raw: &str, order: DayMonthOrder, utc_offset_minutes: i32) -> Result<DateTime<Utc>, String> {
    let s = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let bad = || format!("{s:?} is not a date and time (write it as 2024-03-05 14:30)");
    let offset = FixedOffset::east_opt(utc_offset_minutes.clamp(-14 * 60, 14 * 60) * 60).ok_or_else(bad)?;
    // An Excel serial with a day fraction: 45356.75 is 18:00.
    if let Some((whole, frac)) = s.split_once('.')
        && !whole.is_empty()
        && whole.len() <= 7
        && whole.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c.is_ascii_digit())
        && !frac.is_empty()
    {
        let day = parse_date(whole, order)?;
        let fraction: f64 = format!("0.{frac}").parse().map_err(|_| bad())?;
        let secs = (fraction * 86_400.0).round() as i64;
        let local = day.and_time(NaiveTime::MIN) + chrono::Duration::seconds(secs);
        return local.and_local_timezone(offset).single().map(|t| t.with_timezone(&Utc)).ok_or_else(bad);
    }
    // Split off a trailing time: after `T`, or after the last space when it holds a colon.
    let (date_part, time_part) = match s.rfind(['T', ' ']) {
        Some(i) if s[i + 1..].contains(':') => (s[..i].trim(), Some(s[i + 1..].trim())),
        _ => (s, None),
    };
    let day = parse_date(date_part, order).map_err(|_| bad())?;
    let time = match time_part {
        None => NaiveTime::MIN,
        Some(t) => ["%H:%M:%S%.f", "%H:%M:%S", "%H:%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(t, f).ok())
            .ok_or_else(bad)?,
    };
    day.and_time(time).and_local_timezone(offset).single().map(|t| t.with_timezone(&Utc)).ok_or_else(bad)
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    let y: i32 = y.trim().parse().ok()?;
    let m: u32 = m.trim().parse().ok()?;
    let d: u32 = d.trim().parse().ok()?;
    if !(1000..=9999).contains(&y) {
        return None;
    }
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Excel's day count from 1899-12-30 (which absorbs Lotus 1-2-3's phantom 1900-02-29 for dates after it).
fn excel_serial(n: i64) -> Option<NaiveDate> {
    if !(1..=2_958_465).contains(&n) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let d = base.checked_add_signed(chrono::Duration::days(n))?;
    (d.year() >= 1900).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn many_spellings_of_one_date() {
        let mf = DayMonthOrder::MonthFirst;
        for s in [
            "2024-03-05",
            "2024/3/5",
            "2024.03.05",
            "2024年3月5日",
            "2024年03月05号",
            "20240305",
            "05.03.2024",
            "3/5/2024",
            "03-05-2024",
            "45356",
            "45356.75",
            "March 5, 2024",
            "5 Mar 2024",
            "2024-03-05 10:20:00",
        ] {
            assert_eq!(parse_date(s, mf), Ok(d(2024, 3, 5)), "{s}");
        }
        assert_eq!(parse_date("5/3/2024", DayMonthOrder::DayFirst), Ok(d(2024, 3, 5)));
        assert_eq!(parse_date("25/3/2024", mf), Ok(d(2024, 3, 25)), "25 cannot be a month");
        assert!(parse_date("45356x", mf).is_err());
    }

    #[test]
    fn moments_with_and_without_time_and_offset() {
        let mf = DayMonthOrder::MonthFirst;
        let at = |s: &str| parse_datetime(s, mf, 480).map(|t| t.to_rfc3339());
        assert_eq!(at("2024-03-05T14:30:00Z").as_deref(), Ok("2024-03-05T14:30:00+00:00"));
        assert_eq!(at("2024年3月5日 14:30:15").as_deref(), Ok("2024-03-05T06:30:15+00:00"));
        assert_eq!(at("2024-03-05").as_deref(), Ok("2024-03-04T16:00:00+00:00"));
        assert_eq!(at("45356.75").as_deref(), Ok("2024-03-05T10:00:00+00:00"));
        assert!(at("2024-03-05 25:00").is_err());
        assert!(at("soon").is_err());
    }

    #[test]
    fn nonsense_is_an_error_not_a_guess() {
        for s in ["", "yesterday", "2024-13-01", "2024-02-30", "31/31/2024", "99999999", "1.2.3.4", "=NOW()", "0"] {
            assert!(parse_date(s, DayMonthOrder::MonthFirst).is_err(), "{s}");
        }
    }
}
