//! Asset names as people confuse them: cargo's equivalence (case, `-` and `_`), edit distance, and the
//! spellings that look alike in a listing (`0`/`o`, `1`/`l`/`i`, `rn`/`m`, `vv`/`w`, dropped separators).

use serde::{Deserialize, Serialize};

/// The name as cargo compares names: lowercase, `_` spelt `-`.
pub fn normalise(name: &str) -> String {
    name.chars().map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }).collect()
}

/// What the name looks like to a reader skimming a listing: normalised, look-alike characters folded to one,
/// separators dropped. Two names with the same skeleton are confusable.
pub fn skeleton(name: &str) -> String {
    let folded: String = normalise(name)
        .chars()
        .filter(|c| *c != '-')
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' | '|' => 'l',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            '8' => 'b',
            other => other,
        })
        .collect();
    folded.replace("rn", "m").replace("vv", "w").replace("cl", "d")
}

/// Edits (insertions, deletions, substitutions and swaps of neighbours) from `a` to `b`, counted up to
/// `limit + 1`: names are short, and only small distances matter.
pub fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    // Optimal string alignment over three rows.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let substitution = previous[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(previous[j] + 1).min(current[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()].min(limit + 1)
}

/// The largest edit distance at which two names count as similar: 2, but 1 for names under five characters
/// (every pair of three-letter names is within two edits of many others).
pub fn similarity_limit(name: &str) -> usize {
    if normalise(name).chars().count() < 5 { 1 } else { 2 }
}

/// A listed asset of another publisher whose name looks like this one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SimilarName {
    /// The listed name.
    pub name: String,
    /// Its publisher.
    pub publisher: String,
    /// Edits between the two normalised names.
    pub distance: u32,
    /// Whether the two look alike once look-alike characters and separators are folded.
    pub confusable: bool,
}

/// How `listed` resembles `name`, when it does but is not the same name.
pub fn resemblance(name: &str, listed: &str) -> Option<(u32, bool)> {
    let (ours, theirs) = (normalise(name), normalise(listed));
    if ours == theirs {
        return None;
    }
    let limit = similarity_limit(&ours).min(similarity_limit(&theirs));
    let distance = edit_distance(&ours, &theirs, limit);
    let confusable = skeleton(&ours) == skeleton(&theirs);
    (distance <= limit || confusable).then(|| (u32::try_from(distance).unwrap_or(u32::MAX), confusable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_equivalent_spellings_are_one_name() {
        assert_eq!(normalise("Echo_Connector"), "echo-connector");
        assert_eq!(resemblance("echo_connector", "echo-connector"), None);
    }

    #[test]
    fn edit_distance_counts_swaps_once_and_stops_at_the_limit() {
        assert_eq!(edit_distance("echo-connector", "echo-connector", 2), 0);
        assert_eq!(edit_distance("echo-connector", "echo-conector", 2), 1);
        assert_eq!(edit_distance("echo-connector", "ecoh-connector", 2), 1);
        assert_eq!(edit_distance("echo-connector", "echo-connecter-x", 2), 3);
        assert_eq!(edit_distance("abc", "xyz", 5), 3);
        assert_eq!(edit_distance("", "ab", 5), 2);
    }

    #[test]
    fn near_names_and_look_alikes_resemble_but_unrelated_names_do_not() {
        assert_eq!(resemblance("echo-connector", "echo-conector"), Some((1, false)));
        assert_eq!(resemblance("ech0-c0nnect0r", "echo-connector"), Some((3, true)));
        assert_eq!(resemblance("echoconnector", "echo-connector"), Some((1, true)));
        assert_eq!(resemblance("rnodem", "modem"), Some((2, true)));
        assert_eq!(resemblance("echo-connector", "ledger-sync"), None);
        // Short names: one edit, not two.
        assert_eq!(resemblance("abc", "abd"), Some((1, false)));
        assert_eq!(resemblance("abc", "xyc"), None);
    }
}
