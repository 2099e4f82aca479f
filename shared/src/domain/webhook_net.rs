//! Where a webhook may point (SSRF rules): `https` only; no IP literals; no host that
//! resolves to a private, loopback, link-local, metadata or otherwise non-public address.
//! With `--allow-http-webhooks` (local development) loopback hosts are the one exception,
//! over `http` or `https`. The same check runs when a webhook is created or changed (422)
//! and again before every delivery, whose connection goes to the address checked here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use async_trait::async_trait;

/// Maximum URL length.
pub const MAX_URL_LEN: usize = 2048;

/// What the process allows (the local server's `--allow-http-webhooks`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetPolicy {
    /// Loopback hosts (over `http` or `https`) are allowed.
    pub allow_loopback: bool,
}

/// Resolves host names (injectable for tests).
#[async_trait]
pub trait Resolve: Send + Sync {
    /// The addresses of `host`.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The system resolver.
pub struct SystemResolver;

/// How long a host name may take to resolve.
pub const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        // A name that does not resolve in time is refused like one that does not resolve: a
        // request never waits on a slow resolver for longer than this.
        let lookup = tokio::net::lookup_host((host, port));
        match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
            Ok(addrs) => Ok(addrs?.map(|a| a.ip()).collect()),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "name resolution timed out")),
        }
    }
}

/// A URL that passed the static rules.
#[derive(Clone, Debug)]
pub struct Target {
    /// The URL.
    pub url: url::Url,
    /// Its host (a name, or a loopback literal under the local flag).
    pub host: String,
    /// Its port.
    pub port: u16,
}

/// Why a URL is refused (the 422 reason).
pub type Refusal = &'static str;

/// True for addresses that are not public: private, loopback, link-local (metadata
/// `169.254.169.254` included), unique-local IPv6, CGNAT, unspecified, multicast, broadcast,
/// documentation and IPv4-mapped or -compatible forms of those.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_forbidden(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || (s[0] == 0x2001 && s[1] == 0xdb8)
                || s[..6] == [0; 6]
        }
    }
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || o[0] >= 240
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
    }
}

/// The static rules: absolute `https` URL ≤ 2,048 characters with a host name, no
/// credentials; `http` and loopback literals only under the local flag.
pub fn check_url(raw: &str, policy: NetPolicy) -> Result<Target, Refusal> {
    if raw.chars().count() > MAX_URL_LEN {
        return Err("must be at most 2048 characters");
    }
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute https:// URL")?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) if policy.allow_loopback && ip.is_loopback() => ip.to_string(),
        Some(url::Host::Ipv6(ip)) if policy.allow_loopback && ip.is_loopback() => ip.to_string(),
        Some(_) => return Err("must name a host, not an IP address"),
        None => return Err("must be an absolute https:// URL"),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    let port = url.port_or_known_default().unwrap_or(443);
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_loopback => {}
        "http" => return Err("must use https"),
        _ => return Err("must be an absolute https:// URL"),
    }
    Ok(Target { url, host, port })
}

/// Resolves the target and returns the addresses it may connect to: every address must be
/// public (a name with one private address is refused: the client could pick it), except
/// that under the local flag a host whose addresses are all loopback is allowed. A plain
/// `http` URL is allowed only to loopback.
pub async fn resolve_checked(t: &Target, policy: NetPolicy, r: &dyn Resolve) -> Result<Vec<SocketAddr>, Refusal> {
    let ips: Vec<IpAddr> = match t.host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => r.resolve(&t.host, t.port).await.map_err(|_| "host does not resolve")?,
    };
    if ips.is_empty() {
        return Err("host does not resolve");
    }
    let all_loopback = ips.iter().all(|ip| is_loopback(*ip));
    if policy.allow_loopback && all_loopback {
        return Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, t.port)).collect());
    }
    if ips.iter().any(|ip| is_forbidden(*ip)) {
        return Err("host resolves to a private, loopback, link-local or metadata address");
    }
    if t.url.scheme() != "https" {
        return Err("must use https (http only to loopback hosts)");
    }
    Ok(ips.into_iter().map(|ip| SocketAddr::new(ip, t.port)).collect())
}

/// The check at create/patch time: the static rules, then the addresses. An `https` name
/// that does not resolve (yet) is accepted — delivery resolves and checks again; a plain
/// `http` URL must resolve to loopback now.
pub async fn validate(raw: &str, policy: NetPolicy, r: &dyn Resolve) -> Result<(), Refusal> {
    let t = check_url(raw, policy)?;
    match resolve_checked(&t, policy, r).await {
        Ok(_) => Ok(()),
        Err("host does not resolve") if t.url.scheme() == "https" => Ok(()),
        Err("host does not resolve") => Err("must use https (http only to loopback hosts)"),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_ranges_are_forbidden() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "172.32.0.1", "2606:4700::1111", "1.1.1.1"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_follow_the_static_rules() {
        let strict = NetPolicy::default();
        let local = NetPolicy { allow_loopback: true };
        assert!(check_url("https://hooks.example.com/x", strict).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "https://10.0.0.1/x",
            "https://93.184.216.34/x",
            "https://[::1]/x",
            "ftp://example.com/",
            "hooks.example.com/x",
            "https://user:pw@example.com/",
        ] {
            assert!(check_url(bad, strict).is_err(), "{bad}");
        }
        assert!(check_url("http://127.0.0.1:9000/x", local).is_ok());
        assert!(check_url("http://[::1]:9000/x", local).is_ok());
        assert!(check_url("https://10.0.0.1/x", local).is_err());
        assert!(check_url(&format!("https://example.com/{}", "a".repeat(2048)), strict).is_err());
    }
}
