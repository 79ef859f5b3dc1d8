//! The C library's number and address parsing, as glibc does it, for the
//! places where libzmq hands a string to the C library and its exact
//! behaviour shows: ports read with `atoi` (udp and SOCKS addresses), IPv4
//! addresses read with `inet_aton` (and getaddrinfo's numeric form). One
//! implementation, shared by every parser, so that they agree with each
//! other and with libzmq.

use std::net::Ipv4Addr;

/// The bytes before the first NUL, as C string functions see them.
pub fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(end) => &b[..end],
        None => b,
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// C `atoi` as glibc implements it (`(int) strtol (s, NULL, 10)`): leading
/// white space, a sign, then digits up to the first non-digit (anything
/// after is ignored, no digits is 0); out-of-range values clamp to the
/// `long` limits before the cast to `int` truncates them.
pub fn atoi(b: &[u8]) -> i32 {
    let b = c_str(b);
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut mag: u64 = 0;
    let mut overflow = false;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        match mag
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(c - b'0')))
        {
            Some(m) => mag = m,
            None => overflow = true,
        }
        i += 1;
    }
    let long = if neg {
        if overflow || mag > i64::MAX as u64 + 1 {
            i64::MIN
        } else {
            (mag as i64).wrapping_neg()
        }
    } else if overflow || mag > i64::MAX as u64 {
        i64::MAX
    } else {
        mag as i64
    };
    long as i32
}

/// What may follow an IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Nothing: glibc's `__inet_aton_exact`, which getaddrinfo
    /// (AI_NUMERICHOST) uses.
    Nothing,
    /// White space and whatever follows it: `inet_aton` / `inet_addr`.
    Space,
}

/// glibc's `inet_aton`: one to four parts separated by dots, each decimal,
/// octal (a leading `0`) or hex (`0x`); every part but the last is one
/// byte, the last fills the remaining bytes. Every part starts with a digit
/// (no sign, no space, no empty part).
pub fn inet_aton(b: &[u8], after: After) -> Option<Ipv4Addr> {
    let b = c_str(b);
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut parts: [u32; 3] = [0; 3];
    let mut nparts = 0;
    let mut i = 0;
    let last: u64 = loop {
        if !at(i).is_ascii_digit() {
            return None;
        }
        let mut base = 10;
        let mut digit = false;
        if at(i) == b'0' {
            i += 1;
            if matches!(at(i), b'x' | b'X') {
                base = 16;
                i += 1;
            } else {
                base = 8;
                digit = true;
            }
        }
        let mut val: u64 = 0;
        loop {
            let c = at(i);
            let d = match c {
                b'8' | b'9' if base == 8 => return None,
                b'0'..=b'9' => u64::from(c - b'0'),
                b'a'..=b'f' if base == 16 => u64::from(c - b'a' + 10),
                b'A'..=b'F' if base == 16 => u64::from(c - b'A' + 10),
                _ => break,
            };
            val = val * base + d;
            if val > 0xffff_ffff {
                return None;
            }
            digit = true;
            i += 1;
        }
        if !digit {
            return None;
        }
        if at(i) != b'.' {
            break val;
        }
        if nparts == 3 || val > 0xff {
            return None;
        }
        parts[nparts] = val as u32;
        nparts += 1;
        i += 1;
    };
    if i < b.len() && !(after == After::Space && is_c_space(b[i])) {
        return None;
    }
    let max_last: u64 = match nparts {
        0 => 0xffff_ffff,
        1 => 0x00ff_ffff,
        2 => 0xffff,
        _ => 0xff,
    };
    if last > max_last {
        return None;
    }
    let mut word = last as u32;
    for (k, p) in parts[..nparts].iter().enumerate() {
        word |= p << (24 - 8 * k);
    }
    Some(Ipv4Addr::from(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_as_glibc() {
        assert_eq!(atoi(b"80"), 80);
        assert_eq!(atoi(b"  +80x"), 80);
        assert_eq!(atoi(b"\t-12"), -12);
        assert_eq!(atoi(b"x80"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"65537") as u16, 1);
        assert_eq!(atoi(b"12\x0034"), 12);
        // strtol clamps to LONG_MAX/MIN, then the cast to int truncates.
        assert_eq!(atoi(b"99999999999999999999"), i64::MAX as i32);
        assert_eq!(atoi(b"-99999999999999999999"), i64::MIN as i32);
        assert_eq!(atoi(b"4294967297"), 1);
    }

    #[test]
    fn inet_aton_forms() {
        let exact = |s: &str| inet_aton(s.as_bytes(), After::Nothing);
        assert_eq!(exact("127.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(exact("127.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(exact("10.1.2"), Some(Ipv4Addr::new(10, 1, 0, 2)));
        assert_eq!(exact("2130706433"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(exact("0x7f.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(exact("010.0.0.1"), Some(Ipv4Addr::new(8, 0, 0, 1)));
        assert_eq!(exact("0"), Some(Ipv4Addr::new(0, 0, 0, 0)));
        for bad in [
            "",
            ".1",
            "1.",
            "1..2",
            "256.1",
            "1.2.3.4.5",
            "08",
            "0x",
            "0xg",
            "-1",
            " 1",
            "1.2.3.256",
            "1.2.65536",
            "4294967296",
            "1 ",
            "1x",
        ] {
            assert_eq!(exact(bad), None, "{bad:?}");
        }
        let spaced = |s: &str| inet_aton(s.as_bytes(), After::Space);
        assert_eq!(spaced("1.2.3.4 junk"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(spaced("1.2.3.4\tx"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(spaced("1.2.3.4x"), None);
        assert_eq!(spaced("1.2.3.4\0junk"), Some(Ipv4Addr::new(1, 2, 3, 4)));
    }
}
