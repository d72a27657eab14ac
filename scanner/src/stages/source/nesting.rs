//! How deeply a Rust source nests its delimiters, measured by a small lexer before `syn` sees the file:
//! `syn` recurses once per level without a limit, so 50 000 `(` in a 3 KB file overflow any thread's stack
//! and abort the process (measured: exit 134, the worker gone with every scan in flight).
//!
//! The lexer skips comments (nested block comments too), string, byte-string and raw-string literals and
//! character literals, so delimiters inside them do not count. It is the first guard; the second is the
//! analysis thread's large stack (see `super::analyse`), which holds whatever a misread lets through up to
//! far beyond the limit.

/// Deepest nesting of `(`, `[` and `{` in `source`, outside comments and literals.
pub fn max_depth(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    while at < bytes.len() {
        match bytes[at] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                at += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                at += 1;
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => at = line_end(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => at = block_comment_end(bytes, at),
            b'"' => at = string_end(bytes, at + 1),
            b'r' if raw_string_start(bytes, at).is_some() => {
                let (hashes, quote) = raw_string_start(bytes, at).unwrap_or((0, at));
                at = raw_string_end(bytes, quote + 1, hashes);
            }
            b'\'' => at = char_end(bytes, at),
            _ => at += 1,
        }
    }
    deepest
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| from + n + 1)
}

/// After a `/* … */` comment, which nests in Rust.
fn block_comment_end(bytes: &[u8], from: usize) -> usize {
    let (mut level, mut at) = (0usize, from);
    while at < bytes.len() {
        match (bytes[at], bytes.get(at + 1)) {
            (b'/', Some(b'*')) => {
                level += 1;
                at += 2;
            }
            (b'*', Some(b'/')) => {
                level -= 1;
                at += 2;
                if level == 0 {
                    return at;
                }
            }
            _ => at += 1,
        }
    }
    bytes.len()
}

/// After the closing `"` of a string whose body starts at `from` (escapes honoured).
fn string_end(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// `r"`, `r#"`, `br##"` …: the number of `#` and the position of the opening quote, when `at` starts one
/// (and is not the end of an identifier such as `for` or `bar`).
fn raw_string_start(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let before = at.checked_sub(1).map(|b| bytes[b]);
    let starts_token = match before {
        None => true,
        Some(b'b') => at.checked_sub(2).is_none_or(|b| !is_ident(bytes[b])),
        Some(other) => !is_ident(other),
    };
    if !starts_token {
        return None;
    }
    let hashes = bytes[at + 1..].iter().take_while(|&&b| b == b'#').count();
    (bytes.get(at + 1 + hashes) == Some(&b'"')).then_some((hashes, at + 1 + hashes))
}

/// After the `"###` that closes a raw string with `hashes` hashes, whose body starts at `from`.
fn raw_string_end(bytes: &[u8], from: usize, hashes: usize) -> usize {
    let mut at = from;
    while at < bytes.len() {
        if bytes[at] == b'"' && bytes[at + 1..].iter().take(hashes).filter(|&&b| b == b'#').count() == hashes {
            return at + 1 + hashes;
        }
        at += 1;
    }
    bytes.len()
}

/// After a character literal (`'a'`, `'\n'`, `'\u{1F600}'`, `'é'`) starting at `at`; a lifetime or label
/// (`'a`, `'static`) is only its quote.
fn char_end(bytes: &[u8], at: usize) -> usize {
    if bytes.get(at + 1) == Some(&b'\\') {
        return bytes[at + 2..].iter().position(|&b| b == b'\'').map_or(bytes.len(), |n| at + 2 + n + 1);
    }
    // One character (1–4 bytes of UTF-8) and a closing quote.
    let width = bytes.get(at + 1).map_or(1, |&b| match b {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    });
    if bytes.get(at + 1 + width) == Some(&b'\'') { at + 2 + width } else { at + 1 }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_counted_in_code() {
        assert_eq!(max_depth("fn main() { let x = [(1, 2)]; }"), 3);
        assert_eq!(max_depth(&format!("fn f() {{ {}1{} }}", "(".repeat(50_000), ")".repeat(50_000))), 50_001);
    }

    #[test]
    fn delimiters_in_comments_and_literals_do_not_count() {
        let source = r###"
            // ((((
            /* (( /* nested (( */ (( */
            fn f() {
                let a = "((( \" (((";
                let b = r#"((( " ((("#;
                let c = br##"((("##;
                let d = '(';
                let e = '\u{28}';
                let g: &'static str = "x";
            }
        "###;
        assert_eq!(max_depth(source), 1);
    }

    #[test]
    fn lifetimes_and_identifiers_ending_in_r_are_not_literals() {
        assert_eq!(max_depth("fn f<'a>(x: &'a str) { for r in x.chars() { bar(r) } }"), 3);
        assert_eq!(max_depth("let éé = 'é'; (((x)))"), 3);
    }
}
