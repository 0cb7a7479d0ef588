//! What a line of text is, for every text source: bytes up to `\n`, without the `\n` and an
//! optional `\r` before it, valid UTF-8 (otherwise the line is malformed).

/// The text of one raw line, or `None` if it is not UTF-8.
pub(crate) fn decode_line(raw: &[u8]) -> Option<&str> {
    let text = raw.strip_suffix(b"\n").unwrap_or(raw);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    std::str::from_utf8(text).ok()
}

#[cfg(test)]
mod tests {
    use super::decode_line;

    #[test]
    fn strips_line_endings_and_rejects_bad_utf8() {
        assert_eq!(decode_line(b"a b\n"), Some("a b"));
        assert_eq!(decode_line(b"a b\r\n"), Some("a b"));
        assert_eq!(decode_line(b"tail"), Some("tail"));
        assert_eq!(decode_line(b"\xff\n"), None);
    }
}
