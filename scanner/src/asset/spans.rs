//! Maps TOML byte offsets and key paths back to 1-based line numbers, so findings can point at a line.

use toml::de::{DeTable, DeValue};

/// A TOML document's text, kept for turning spans into lines.
pub struct TomlText<'a> {
    text: &'a str,
    table: Option<toml::Spanned<DeTable<'a>>>,
}

impl<'a> TomlText<'a> {
    /// Parses `text` for spans. A document that does not parse still maps offsets to lines.
    pub fn new(text: &'a str) -> Self {
        Self { text, table: DeTable::parse(text).ok() }
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> u32 {
        let offset = offset.min(self.text.len());
        let newlines = self.text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count();
        u32::try_from(newlines + 1).unwrap_or(u32::MAX)
    }

    /// 1-based line of a TOML error, when it carries a span.
    pub fn line_of_error(&self, error: &toml::de::Error) -> Option<u32> {
        error.span().map(|span| self.line_of(span.start))
    }

    /// 1-based line of the key at `path` (`["package", "metadata", "marketplace", "kind"]`; numeric
    /// segments index arrays). Falls back to the deepest ancestor found.
    pub fn line_of_key<S: AsRef<str>>(&self, path: &[S]) -> Option<u32> {
        let table = self.table.as_ref()?;
        let mut line = None;
        let mut current: &DeValue<'_> = &DeValue::Table(DeTable::new());
        let mut at_root = true;
        for segment in path {
            let segment = segment.as_ref();
            let found = if at_root {
                at_root = false;
                key_in(table.get_ref(), segment)
            } else {
                match current {
                    DeValue::Table(table) => key_in(table, segment),
                    DeValue::Array(array) => segment
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| array.get(i))
                        .map(|value| (value.span().start, value.get_ref())),
                    _ => None,
                }
            };
            let Some((offset, value)) = found else { break };
            line = Some(self.line_of(offset));
            current = value;
        }
        line
    }
}

fn key_in<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<(usize, &'t DeValue<'i>)> {
    table.iter().find(|(k, _)| k.get_ref() == key).map(|(k, v)| (k.span().start, v.get_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[package]\nname = \"x\"\n\n[package.metadata.marketplace]\nkind = \"connector\"\n\n[[package.metadata.marketplace.load.scenario]]\nname = \"a\"\n\n[[package.metadata.marketplace.load.scenario]]\nname = \"b\"\n";

    #[test]
    fn keys_resolve_to_their_lines() {
        let text = TomlText::new(DOC);
        assert_eq!(text.line_of_key(&["package", "name"]), Some(2));
        assert_eq!(text.line_of_key(&["package", "metadata", "marketplace", "kind"]), Some(5));
        assert_eq!(
            text.line_of_key(&["package", "metadata", "marketplace", "load", "scenario", "1", "name"]),
            Some(11)
        );
    }

    #[test]
    fn a_missing_key_falls_back_to_its_parent() {
        let text = TomlText::new(DOC);
        assert_eq!(text.line_of_key(&["package", "metadata", "marketplace", "nope"]), Some(4));
    }
}
