//! Which addresses a submission's http(s) archive may be fetched from: public ones, checked after name
//! resolution by the resolver the connection itself uses, so a name cannot resolve to a public address for
//! the check and to a private one for the connection (DNS rebinding).

use std::fmt;
use std::net::IpAddr;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// A name resolved to an address the worker does not fetch from.
#[derive(Debug)]
pub struct PrivateAddress {
    host: String,
    address: IpAddr,
}

impl fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to {}, a loopback, private, link-local or multicast address; archives are fetched from \
             public addresses only (a worker may allow more with --allow-private-fetch)",
            self.host, self.address
        )
    }
}

impl std::error::Error for PrivateAddress {}

/// Resolves with the system resolver, then refuses the whole answer if any address is not public.
#[derive(Debug, Default)]
pub struct CheckedResolver {
    /// Skip the check (`--allow-private-fetch`).
    pub allow_private: bool,
}

impl Resolver for CheckedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = DefaultResolver::default().resolve(uri, config, timeout)?;
        if !self.allow_private
            && let Some(address) = addresses.iter().map(std::net::SocketAddr::ip).find(|ip| !is_public(*ip))
        {
            let host = uri.host().unwrap_or_default().to_owned();
            let refused = PrivateAddress { host, address };
            return Err(ureq::Error::Io(std::io::Error::new(std::io::ErrorKind::PermissionDenied, refused)));
        }
        Ok(addresses)
    }
}

/// Not loopback, RFC 1918 private, link-local, multicast, unspecified, broadcast or IPv6 unique-local; an
/// IPv4-mapped IPv6 address is judged as the IPv4 address it maps.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_multicast()
                    || v6.is_unspecified()
                    || first & 0xfe00 == 0xfc00
                    || first & 0xffc0 == 0xfe80)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap_or_else(|err| panic!("{text}: {err}")))
    }

    #[test]
    fn loopback_private_link_local_and_multicast_are_refused() {
        for address in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["151.101.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(public(address), "{address}");
        }
    }
}
