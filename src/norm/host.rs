//! Hosts as the policy compares them. IPv4 literals are read the way `inet_aton` reads them
//! (decimal `2852039166`, hex `0xa9fea9fe`, octal `0251.0376...`, short forms `169.254.43518`),
//! and IPv4-mapped IPv6 is unwrapped, so every spelling of the metadata address compares equal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host as compared against the policy's lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostKey {
    Ip(IpAddr),
    Name(String),
}

impl HostKey {
    /// A host written in the policy: a standard IP literal or a DNS name.
    pub fn parse_configured(raw: &str) -> Option<HostKey> {
        let raw = raw.trim().trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = raw.parse::<IpAddr>() {
            return Some(HostKey::Ip(canonical_ip(ip)));
        }
        name_key(raw)
    }
}

impl HostKey {
    /// The address a wildcard DNS service answers for a name that spells it
    /// (`169.254.169.254.nip.io`, `169-254-169-254.sslip.io`, `app-a9fea9fe.nip.io`), when the
    /// name is under one of `domains`.
    pub fn embedded_ip(&self, domains: &[String]) -> Option<HostKey> {
        let HostKey::Name(name) = self else {
            return None;
        };
        let prefix = domains.iter().find_map(|d| {
            name.strip_suffix(d.as_str())
                .and_then(|p| p.strip_suffix('.'))
        })?;
        // The last four numbers of the name, dotted or dashed, are the address.
        let last_four = |parts: &[&str]| {
            let four = parts.get(parts.len().checked_sub(4)?..)?.join(".");
            four.parse::<Ipv4Addr>()
                .ok()
                .map(|ip| HostKey::Ip(IpAddr::V4(ip)))
        };
        let labels: Vec<&str> = prefix.split('.').collect();
        if let Some(ip) = last_four(&labels) {
            return Some(ip);
        }
        let dashed: Vec<&str> = labels.last()?.split('-').collect();
        if let Some(ip) = last_four(&dashed) {
            return Some(ip);
        }
        let hex = dashed.last()?;
        (hex.len() == 8)
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten()
            .map(|v| HostKey::Ip(IpAddr::V4(Ipv4Addr::from(v))))
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostKey::Ip(ip) => write!(f, "{ip}"),
            HostKey::Name(n) => f.write_str(n),
        }
    }
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn name_key(raw: &str) -> Option<HostKey> {
    let name = raw.trim_end_matches('.').to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.bytes().any(|b| b.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    valid.then_some(HostKey::Name(name))
}

fn parse_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        return if hex.is_empty() {
            Some(0)
        } else {
            u64::from_str_radix(hex, 16).ok()
        };
    }
    if part.len() > 1 && part.starts_with('0') {
        return u64::from_str_radix(&part[1..], 8).ok();
    }
    part.parse::<u64>().ok()
}

/// IPv4 in any form `inet_aton` accepts.
pub fn parse_ipv4_lenient(raw: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = raw.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.len() > 12) {
        return None;
    }
    let nums: Vec<u64> = parts
        .iter()
        .map(|p| parse_number(p))
        .collect::<Option<_>>()?;
    let (head, last) = nums.split_at(nums.len() - 1);
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (4 - head.len() as u32);
    if last[0] >= 1u64 << last_bits {
        return None;
    }
    let mut value: u64 = 0;
    for (i, n) in head.iter().enumerate() {
        value |= n << (24 - 8 * i as u32);
    }
    value |= last[0];
    Some(Ipv4Addr::from(value as u32))
}

/// A host written in a command: a literal (any spelling when `lenient`) or, when `lenient`, a
/// DNS name.
pub fn host_key(raw: &str, lenient: bool) -> Option<HostKey> {
    let raw = raw.trim_matches(|c| c == '"' || c == '\'');
    if raw.is_empty() {
        return None;
    }
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner
            .split('%')
            .next()
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
            .map(|ip| HostKey::Ip(canonical_ip(IpAddr::V6(ip))));
    }
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(HostKey::Ip(canonical_ip(ip)));
    }
    if raw
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'x' || b == b'X')
    {
        if lenient {
            return parse_ipv4_lenient(raw).map(|ip| HostKey::Ip(IpAddr::V4(ip)));
        }
        return None;
    }
    if lenient {
        name_key(raw)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_wildcard_dns_services_spell_their_address() {
        let domains = vec!["nip.io".to_string(), "sslip.io".to_string()];
        let metadata = Some(HostKey::Ip("169.254.169.254".parse().unwrap()));
        for name in [
            "169.254.169.254.nip.io",
            "app.169.254.169.254.nip.io",
            "169-254-169-254.sslip.io",
            "magic-169-254-169-254.nip.io",
            "a9fea9fe.nip.io",
            "app-a9fea9fe.sslip.io",
        ] {
            let key = host_key(name, true).unwrap();
            assert_eq!(key.embedded_ip(&domains), metadata, "{name}");
        }
        for name in ["nip.io", "example.nip.io", "169.254.169.254.example.com"] {
            let key = host_key(name, true).unwrap();
            assert_eq!(key.embedded_ip(&domains), None, "{name}");
        }
    }

    #[test]
    fn lenient_ipv4_rejects_out_of_range() {
        assert_eq!(parse_ipv4_lenient("256.1.1.1"), None);
        assert_eq!(parse_ipv4_lenient("1.2.3.4.5"), None);
        assert_eq!(parse_ipv4_lenient("1.2.65536"), None);
        assert_eq!(parse_ipv4_lenient("4294967296"), None);
        assert_eq!(
            parse_ipv4_lenient("127.1"),
            Some(Ipv4Addr::new(127, 0, 0, 1))
        );
    }
}
