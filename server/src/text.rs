//! Text as the stores keep it: neither SQLite's nor Postgres's text holds the NUL
//! character, so it is refused from people and removed from what GitHub sends.

/// Whether a JSON document has a string with the NUL character: a `\u0000` escape
/// (JSON has no other way to write it). A backslash that is itself escaped does not
/// start one.
pub fn has_nul_escape(json: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in json.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if b == b'u' && backslashes % 2 == 1 && json[i + 1..].starts_with(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::has_nul_escape;

    #[test]
    fn only_an_unescaped_backslash_u0000_is_a_nul() {
        assert!(has_nul_escape(br#"{"t":"a\u0000b"}"#));
        assert!(
            has_nul_escape(br#"{"t":"\\\u0000"}"#),
            "an escaped backslash, then a NUL"
        );
        assert!(
            !has_nul_escape(br#"{"t":"a\\u0000b"}"#),
            "a backslash, then text"
        );
        assert!(!has_nul_escape(br#"{"t":"u0000"}"#));
        assert!(has_nul_escape(br#"{"t":"\u00001"}"#), "a NUL, then a digit");
        assert!(!has_nul_escape(br#"{"t":"\u0001"}"#));
        assert!(!has_nul_escape(b"\\u"));
    }
}
