//! The host name a DNS query asks for, read from the datagram a traced program sent (bounded, never fails).

/// The first question's name of a DNS query message, lower-cased, without the final dot; `None` when the
/// bytes are not a query with one readable question.
pub fn query_name(message: &[u8]) -> Option<String> {
    let header = message.get(..12)?;
    let is_response = header[2] & 0x80 != 0;
    let questions = u16::from_be_bytes([header[4], header[5]]);
    if is_response || questions == 0 {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let length = usize::from(*message.get(at)?);
        if length == 0 {
            break;
        }
        // A compression pointer or a reserved length: not in a query's first name.
        if length > 63 {
            return None;
        }
        let label = message.get(at + 1..at + 1 + length)?;
        if !label.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')) {
            return None;
        }
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += 1 + length;
        if labels.len() > 127 {
            return None;
        }
    }
    (!labels.is_empty()).then(|| labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_for_a_name_gives_that_name() {
        let query = b"\xca\xd0\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03api\x07Example\x03com\x00\x00\x1c\x00\x01";
        assert_eq!(query_name(query).as_deref(), Some("api.example.com"));
    }

    #[test]
    fn responses_pointers_and_short_messages_are_not_queries() {
        assert_eq!(query_name(b"\xca\xd0\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00"), None);
        assert_eq!(query_name(b"\xca\xd0\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c"), None);
        assert_eq!(query_name(b"\x00\x01"), None);
        assert_eq!(query_name(b"\xca\xd0\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab"), None);
        assert_eq!(query_name(b"GET / HTTP/1.1\r\n\r\n"), None);
    }
}
