//! Human-written quantities of load specs (`"50ms"`, `"0.5%"`, `"128MiB"`, `"8/s"`), parsed strictly.
//!
//! Each type deserialises from its string form, so a mistake surfaces as a TOML error at the exact value.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A time span such as a latency or a test duration: `250us`, `50ms`, `1.5s`, `2m`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct TimeSpan(pub Duration);

/// A percentage such as an error rate: `0.5%`, between 0 and 100.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Percent(pub f64);

/// A memory size: `512KiB`, `128MiB`, `1GiB` (binary) or `500MB` (decimal), or plain bytes `4096B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// A rate per second: `8/s`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

/// Splits `"12.5ms"` into `(12.5, "ms")`, refusing negatives, NaN and infinities.
fn number_and_unit(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    value.is_finite().then_some((value, unit.trim()))
}

impl std::str::FromStr for TimeSpan {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (value, unit) =
            number_and_unit(text).ok_or_else(|| format!("`{text}` is not a time span; write e.g. `50ms`, `1.5s`"))?;
        let seconds = match unit {
            "us" | "µs" => value / 1e6,
            "ms" => value / 1e3,
            "s" => value,
            "m" => value * 60.0,
            _ => {
                return Err(format!("`{text}` has no time unit; use us, ms, s or m (e.g. `50ms`)"));
            }
        };
        Duration::try_from_secs_f64(seconds).map(TimeSpan).map_err(|_| format!("`{text}` is out of range"))
    }
}

impl std::str::FromStr for Percent {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match number_and_unit(text) {
            Some((value, "%")) if value <= 100.0 => Ok(Percent(value)),
            Some((_, "%")) => Err(format!("`{text}` is over 100%")),
            _ => Err(format!("`{text}` is not a percentage; write e.g. `0.5%`")),
        }
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (value, unit) =
            number_and_unit(text).ok_or_else(|| format!("`{text}` is not a size; write e.g. `128MiB`"))?;
        let scale: f64 = match unit {
            "B" => 1.0,
            "KiB" => 1024.0,
            "MiB" => 1024.0 * 1024.0,
            "GiB" => 1024.0 * 1024.0 * 1024.0,
            "KB" | "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            _ => {
                return Err(format!("`{text}` has no size unit; use B, KiB, MiB, GiB, KB, MB or GB"));
            }
        };
        let bytes = value * scale;
        if bytes > u64::MAX as f64 {
            return Err(format!("`{text}` is out of range"));
        }
        // Sizes are whole bytes; a fractional byte count is rounded up so a ceiling is never loosened.
        Ok(ByteSize(bytes.ceil() as u64))
    }
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match number_and_unit(text) {
            Some((value, "/s")) if value > 0.0 => Ok(Rate(value)),
            _ => Err(format!("`{text}` is not a rate; write e.g. `8/s` (more than 0)")),
        }
    }
}

impl fmt::Display for TimeSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_secs_f64() * 1e3;
        if ms < 1.0 {
            write!(f, "{}us", self.0.as_micros())
        } else if ms < 10_000.0 {
            write!(f, "{}ms", trim_float(ms))
        } else {
            write!(f, "{}s", trim_float(self.0.as_secs_f64()))
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", trim_float(self.0))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: u64 = 1024 * 1024;
        if self.0 >= MIB && self.0.is_multiple_of(MIB) {
            write!(f, "{}MiB", self.0 / MIB)
        } else if self.0 >= 1024 && self.0.is_multiple_of(1024) {
            write!(f, "{}KiB", self.0 / 1024)
        } else {
            write!(f, "{}B", self.0)
        }
    }
}

impl ByteSize {
    /// A measured size for people, one decimal: `61.3MiB`, `912.0KiB`, `512B`.
    pub fn human(self) -> String {
        const MIB: f64 = 1024.0 * 1024.0;
        let bytes = self.0 as f64;
        if bytes >= MIB {
            format!("{:.1}MiB", bytes / MIB)
        } else if bytes >= 1024.0 {
            format!("{:.1}KiB", bytes / 1024.0)
        } else {
            format!("{}B", self.0)
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", trim_float(self.0))
    }
}

/// `1.50` → `1.5`, `2.0` → `2`: quantities print the way people write them.
fn trim_float(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

macro_rules! serde_via_string {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(de::Error::custom)
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
    )*};
}

serde_via_string!(TimeSpan, Percent, ByteSize, Rate);

/// Quantities are strings in TOML and JSON; their schema says which spelling each takes.
macro_rules! schema_as_string {
    ($($ty:ty => $pattern:literal, $example:literal;)*) => {$(
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "pattern": $pattern, "examples": [$example] })
            }
        }
    )*};
}

schema_as_string! {
    TimeSpan => "^[0-9.]+ *(us|µs|ms|s|m)$", "50ms";
    Percent => "^[0-9.]+ *%$", "0.5%";
    ByteSize => "^[0-9.]+ *(B|KiB|MiB|GiB|KB|kB|MB|GB)$", "128MiB";
    Rate => "^[0-9.]+ */s$", "8/s";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_parse_in_every_unit() {
        assert_eq!("50ms".parse::<TimeSpan>().unwrap().0, Duration::from_millis(50));
        assert_eq!("1.5s".parse::<TimeSpan>().unwrap().0, Duration::from_millis(1500));
        assert_eq!("250us".parse::<TimeSpan>().unwrap().0, Duration::from_micros(250));
        assert_eq!("2m".parse::<TimeSpan>().unwrap().0, Duration::from_secs(120));
        assert!("50".parse::<TimeSpan>().is_err());
        assert!("-5ms".parse::<TimeSpan>().is_err());
        assert!("fast".parse::<TimeSpan>().is_err());
    }

    #[test]
    fn percent_size_and_rate_parse_and_reject_nonsense() {
        assert_eq!("0.5%".parse::<Percent>().unwrap().0, 0.5);
        assert!("101%".parse::<Percent>().is_err());
        assert!("0.5".parse::<Percent>().is_err());
        assert_eq!("128MiB".parse::<ByteSize>().unwrap().0, 128 * 1024 * 1024);
        assert_eq!("1MB".parse::<ByteSize>().unwrap().0, 1_000_000);
        assert!("128".parse::<ByteSize>().is_err());
        assert_eq!("8/s".parse::<Rate>().unwrap().0, 8.0);
        assert!("0/s".parse::<Rate>().is_err());
    }

    #[test]
    fn quantities_print_as_written() {
        assert_eq!("50ms".parse::<TimeSpan>().unwrap().to_string(), "50ms");
        assert_eq!("0.5%".parse::<Percent>().unwrap().to_string(), "0.5%");
        assert_eq!("128MiB".parse::<ByteSize>().unwrap().to_string(), "128MiB");
        assert_eq!("8/s".parse::<Rate>().unwrap().to_string(), "8/s");
    }
}
