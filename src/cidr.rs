//! Address ranges (`10.0.0.0/8`, `::1`) and the `--limits-exempt` list made of them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The longest `--limits-exempt` list accepted: each address is checked against every range.
pub const MAX_EXEMPT_RANGES: usize = 256;

/// An address range: a network address and how many leading bits of it must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix_bits: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(net.to_bits().into(), ip.to_bits().into(), 32, self.prefix_bits)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(net.to_bits(), ip.to_bits(), 128, self.prefix_bits),
            _ => false,
        }
    }
}

/// Whether the first `prefix` of `width` bits of `a` and `b` agree.
fn same_prefix(a: u128, b: u128, width: u8, prefix: u8) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = u32::from(width - prefix);
    (a >> shift) == (b >> shift)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| format!("{addr:?} is not an IP address"))?;
        let network = network.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix_bits = match prefix {
            None => width,
            Some(bits) => bits
                .parse()
                .ok()
                .filter(|bits| *bits <= width)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {width}"))?,
        };
        Ok(Cidr { network, prefix_bits })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_bits)
    }
}

/// Who the per-IP limits leave alone: `all`, `none`, or a comma-separated list of ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exempt {
    All,
    Ranges(Vec<Cidr>),
}

impl Exempt {
    pub fn covers(&self, ip: IpAddr) -> bool {
        match self {
            Exempt::All => true,
            Exempt::Ranges(ranges) => ranges.iter().any(|range| range.contains(ip)),
        }
    }
}

impl FromStr for Exempt {
    type Err = String;

    fn from_str(text: &str) -> Result<Exempt, String> {
        match text.trim() {
            "all" => return Ok(Exempt::All),
            "none" => return Ok(Exempt::Ranges(Vec::new())),
            _ => {}
        }
        let ranges = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        if ranges.is_empty() {
            return Err("expected ranges (127.0.0.0/8,::1), none or all".to_owned());
        }
        if ranges.len() > MAX_EXEMPT_RANGES {
            return Err(format!("at most {MAX_EXEMPT_RANGES} ranges"));
        }
        Ok(Exempt::Ranges(ranges))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_what_their_prefix_says() {
        let cases = [
            ("127.0.0.0/8", "127.255.0.1", true),
            ("127.0.0.0/8", "128.0.0.1", false),
            ("127.0.0.0/8", "::ffff:127.0.0.2", true),
            ("::1", "::1", true),
            ("::1", "::2", false),
            ("::1", "127.0.0.1", false),
            ("10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.4", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "2001:db8::1", true),
            ("192.168.1.0/23", "192.168.0.200", true),
            ("192.168.1.0/23", "192.168.2.1", false),
        ];
        for (range, ip, expected) in cases {
            let range: Cidr = range.parse().unwrap();
            assert_eq!(range.contains(ip.parse().unwrap()), expected, "{range} contains {ip}");
        }
    }

    #[test]
    fn bad_ranges_are_refused() {
        for text in ["", "127.0.0.0/33", "::/129", "localhost", "1.2.3.4/x", "1.2.3/8"] {
            assert!(text.parse::<Cidr>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn exempt_lists_parse_words_and_ranges() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "127.0.0.0/8,::1",
                &["127.0.0.1", "127.9.9.9", "::1"],
                &["10.0.0.1", "::2"],
            ),
            ("none", &[], &["127.0.0.1", "::1"]),
            ("all", &["127.0.0.1", "203.0.113.1", "2001:db8::1"], &[]),
            (" 10.0.0.0/8 , 192.0.2.7 ", &["10.2.3.4", "192.0.2.7"], &["192.0.2.8"]),
        ];
        for (text, covered, not_covered) in cases {
            let exempt: Exempt = text.parse().unwrap();
            for ip in *covered {
                assert!(exempt.covers(ip.parse().unwrap()), "{text} covers {ip}");
            }
            for ip in *not_covered {
                assert!(!exempt.covers(ip.parse().unwrap()), "{text} does not cover {ip}");
            }
        }
        for bad in ["", ",", "10.0.0.0/8,nonsense"] {
            assert!(bad.parse::<Exempt>().is_err(), "{bad:?}");
        }
    }
}
