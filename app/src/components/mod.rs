//! Presentational pieces shared by the pages.

pub mod connection;
pub mod outbox;
pub mod status_badge;
pub mod timeline;

/// "3 min ago", relative to `now` (both in milliseconds since the epoch).
pub fn relative_time(at: i64, now: i64) -> String {
    let secs = (now - at).max(0) / 1000;
    match secs {
        0..=9 => "just now".to_owned(),
        10..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::relative_time;

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative_time(0, 5_000), "just now");
        assert_eq!(relative_time(0, 42_000), "42 s ago");
        assert_eq!(relative_time(0, 180_000), "3 min ago");
        assert_eq!(relative_time(0, 7_200_000), "2 h ago");
        assert_eq!(
            relative_time(10_000, 0),
            "just now",
            "clock skew is not negative time"
        );
    }
}
