//! strace's output, read with a bounded parser.
//!
//! strace runs with `-f -xx -X raw` and one output file: each line is `PID NAME(ARGS) = RESULT`, every string
//! argument is hex-escaped (`"\x2f\x65\x74\x63"`), so nothing the traced program chooses can contain a quote,
//! a comma or a newline of its own; flags are raw numbers. A call another process interrupted appears as
//! `NAME(ARGS <unfinished ...>` (its arguments are complete; its result comes on a `<... resumed>` line, which
//! is skipped). Anything else is skipped too: the parser never fails, it only recognises less.

/// One system call as strace printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The calling process (thread) id, inside the sandbox.
    pub pid: u32,
    /// The system call's name.
    pub name: &'a str,
    /// Its arguments, raw (split at top-level commas).
    pub args: Vec<&'a str>,
    /// How it returned.
    pub result: Returned,
}

/// A call's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Returned {
    /// It returned this value.
    Value(i64),
    /// It failed with this error (`ENOENT`).
    Error(String),
    /// Unknown: interrupted by another process's line, or `?`.
    Unknown,
}

impl Returned {
    /// `ok`, the error's name, or `unknown`, for the report.
    pub fn describe(&self) -> String {
        match self {
            Returned::Value(_) => "ok".to_owned(),
            Returned::Error(name) => name.clone(),
            Returned::Unknown => "unknown".to_owned(),
        }
    }
}

/// Lines longer than this are skipped (`-s 256 -xx` keeps an ordinary call far below it).
pub const MAX_LINE: usize = 64 * 1024;

/// Parses one line of strace output; `None` for anything but a system call's entry.
pub fn parse_line(line: &str) -> Option<Call<'_>> {
    if line.len() > MAX_LINE {
        return None;
    }
    let line = line.trim_end();
    let (pid, rest) = line.split_once(char::is_whitespace)?;
    let pid = pid.parse().ok()?;
    let rest = rest.trim_start();
    let open = rest.find('(')?;
    let name = &rest[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let body = &rest[open + 1..];
    let (args, tail) = match body.strip_suffix(" <unfinished ...>") {
        Some(unfinished) => (split_args(unfinished).0, None),
        None => {
            let (args, end) = split_args(body);
            (args, Some(body.get(end..)?))
        }
    };
    let result = match tail {
        None => Returned::Unknown,
        Some(tail) => parse_result(tail.strip_prefix(')')?)?,
    };
    Some(Call { pid, name, args, result })
}

/// Splits `a, {b, c}, [d], "e"` at its top-level commas, stopping at the `)` that closes the call; returns
/// the arguments and the byte offset of that `)` (or the end).
fn split_args(body: &str) -> (Vec<&str>, usize) {
    let bytes = body.as_bytes();
    let mut args = Vec::new();
    let (mut depth, mut start, mut in_string) = (0usize, 0usize, false);
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if in_string {
            match byte {
                b'\\' => index += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' => depth = depth.saturating_sub(1),
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                b',' if depth == 0 => {
                    args.push(body[start..index].trim());
                    start = index + 1;
                }
                _ => {}
            }
        }
        index += 1;
    }
    let last = body[start..index.min(body.len())].trim();
    if !last.is_empty() {
        args.push(last);
    }
    (args, index)
}

/// ` = 3`, ` = -1 ENOENT (No such file or directory)`, ` = ?`.
fn parse_result(tail: &str) -> Option<Returned> {
    let value = tail.trim_start().strip_prefix('=')?.trim_start();
    let mut words = value.split_whitespace();
    // With -y a descriptor result carries its path: `3<\x2f…>`.
    let first = words.next()?.split('<').next()?;
    if first == "?" {
        return Some(Returned::Unknown);
    }
    let number = parse_int(first)?;
    match words.next() {
        Some(error) if number < 0 && error.starts_with('E') => Some(Returned::Error(error.to_owned())),
        _ => Some(Returned::Value(number)),
    }
}

/// A decimal or `0x` hexadecimal integer argument.
pub fn parse_int(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    match raw.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok().map(|value| value as i64),
        None => raw.parse().ok(),
    }
}

/// The bytes of a string argument (`"\x2f\x65"`, perhaps followed by `...` when strace cut it); `None` when
/// the argument is not a string (a pointer strace could not read, `NULL`).
pub fn string(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim();
    let raw = raw.strip_suffix("...").unwrap_or(raw);
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4);
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\' && bytes.get(index + 1) == Some(&b'x') {
            let hex = inner.get(index + 2..index + 4)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 4;
        } else if bytes[index] == b'\\' {
            // -xx escapes everything as \x; a bare escape only appears for a few control characters.
            out.push(match bytes.get(index + 1)? {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                other => *other,
            });
            index += 2;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    Some(out)
}

/// A descriptor argument as `-y` prints it, `5<\x2f\x74>` (or `-100<…>` for `AT_FDCWD`): its number and,
/// when strace knew it, the path it refers to.
pub fn descriptor(raw: &str) -> Option<(i64, Option<Vec<u8>>)> {
    let raw = raw.trim();
    let (number, path) = match raw.split_once('<') {
        Some((number, rest)) => (number, rest.strip_suffix('>').and_then(|path| string(&format!("\"{path}\"")))),
        None => (raw, None),
    };
    Some((parse_int(number)?, path))
}

/// The elements of an array argument (`["a", "b"]`), raw; `None` when it is not an array.
pub fn array(raw: &str) -> Option<Vec<&str>> {
    let inner = raw.trim().strip_prefix('[')?;
    let inner = inner.rsplit_once(']')?.0;
    Some(split_args(inner).0)
}

/// Every value of `field=` anywhere inside a struct argument, in order (`sin_port`, `iov_base`, …).
pub fn fields<'a>(raw: &'a str, field: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let needle = format!("{field}=");
    let mut from = 0;
    while let Some(at) = raw[from..].find(&needle) {
        let start = from + at;
        let boundary = start == 0 || matches!(raw.as_bytes()[start - 1], b'{' | b' ' | b'[');
        let value_start = start + needle.len();
        let value_end = value_end(&raw[value_start..]) + value_start;
        if boundary {
            found.push(&raw[value_start..value_end]);
        }
        from = value_end.max(start + 1);
    }
    found
}

/// Where a field's value ends: the first top-level `,` or closing bracket.
fn value_end(text: &str) -> usize {
    let (mut depth, mut in_string) = (0usize, false);
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match (in_string, bytes[index]) {
            (true, b'\\') => index += 1,
            (true, b'"') => in_string = false,
            (true, _) => {}
            (false, b'"') => in_string = true,
            (false, b'{' | b'[') => depth += 1,
            (false, b'}' | b']' | b')') if depth == 0 => return index,
            (false, b'}' | b']') => depth -= 1,
            (false, b',') if depth == 0 => return index,
            _ => {}
        }
        index += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_call_is_split_into_its_arguments_and_result() {
        let call =
            parse_line(r#"8     openat(-100, "\x2f\x74\x6d\x70", 0x241, 0666) = -1 EROFS (Read-only file system)"#)
                .unwrap();
        assert_eq!(call.pid, 8);
        assert_eq!(call.name, "openat");
        assert_eq!(call.args, vec!["-100", r#""\x2f\x74\x6d\x70""#, "0x241", "0666"]);
        assert_eq!(call.result, Returned::Error("EROFS".to_owned()));
        assert_eq!(string(call.args[1]).unwrap(), b"/tmp");
        assert_eq!(parse_int(call.args[2]), Some(0x241));
    }

    #[test]
    fn structs_and_arrays_stay_one_argument() {
        let line = r#"11 connect(3, {sa_family=0x2, sin_port="\x00\x35", sin_addr="\x7f\x00\x00\x01"}, 16) = 0"#;
        let call = parse_line(line).unwrap();
        assert_eq!(call.args.len(), 3);
        assert_eq!(fields(call.args[1], "sin_port"), vec![r#""\x00\x35""#]);
        assert_eq!(fields(call.args[1], "sa_family"), vec!["0x2"]);
        let exec = parse_line(r#"9 execve("\x2f\x62", ["\x73\x68", "\x2d\x63"], 0x7ffc /* 3 vars */) = 0"#).unwrap();
        assert_eq!(array(exec.args[1]).unwrap().len(), 2);
        assert_eq!(exec.result, Returned::Value(0));
    }

    #[test]
    fn an_unfinished_call_keeps_its_arguments_and_a_resumed_one_is_skipped() {
        let call = parse_line(r#"12 connect(5, {sa_family=0x2, sin_port="\x01\xbb"}, 16 <unfinished ...>"#).unwrap();
        assert_eq!(call.result, Returned::Unknown);
        assert_eq!(call.args.len(), 3);
        assert!(parse_line("12 <... connect resumed>) = -1 ENETUNREACH (Network is unreachable)").is_none());
    }

    #[test]
    fn garbage_is_skipped_without_a_panic() {
        for line in ["", "x", "12", "12 ", "12 (", "12 a(", "12 a(\"\\x", "12 a(\"\\xZZ\") = 0", "+++ exited +++"] {
            let _ = parse_line(line);
        }
        assert_eq!(string(r#""\xZZ""#), None);
        assert_eq!(string("0x7ffc"), None);
        assert_eq!(string(r#""\x61\x62"..."#).unwrap(), b"ab");
    }

    #[test]
    fn descriptors_carry_their_paths() {
        assert_eq!(descriptor(r"-100<\x2f\x74>"), Some((-100, Some(b"/t".to_vec()))));
        assert_eq!(descriptor("5"), Some((5, None)));
        let call = parse_line(r#"4 openat(5<\x2f\x74>, "\x61", 0x80000) = 3<\x2f\x74\x2f\x61>"#).unwrap();
        assert_eq!(call.result, Returned::Value(3));
    }
}
