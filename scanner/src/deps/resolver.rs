//! Name resolution for a scan's downloads: each host looked up once, the answer shared by every download
//! thread. Measured here: concurrent lookups through the machine's resolver stall 5 s at random (glibc's
//! parallel A/AAAA queries, one dropped), which made 61 downloads at 8 at a time take 10 s instead of 1.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// A resolver that remembers: the first lookup of a host (by scheme, host and port) is the only one; lookups
/// are serialised, so two threads never ask the system resolver at once.
#[derive(Default)]
pub struct CachingResolver {
    inner: DefaultResolver,
    answers: Mutex<HashMap<String, ResolvedSocketAddrs>>,
}

impl fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingResolver").finish_non_exhaustive()
    }
}

impl Resolver for CachingResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = format!("{}://{}", uri.scheme_str().unwrap_or(""), uri.authority().map_or("", |a| a.as_str()));
        // A poisoned lock only means another download panicked; the map is still sound.
        let mut answers = self.answers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = answers.get(&key) {
            return Ok(found.clone());
        }
        let found = self.inner.resolve(uri, config, timeout)?;
        answers.insert(key, found.clone());
        Ok(found)
    }
}
