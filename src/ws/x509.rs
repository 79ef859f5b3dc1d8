//! The few facts of an X.509 certificate (RFC 5280) that GnuTLS-compatible
//! verification needs beyond webpki: its validity period, whether its
//! subjectAltName holds DNS names or IP addresses, and its subject's common
//! names. A bounded DER walk over the peer's bytes: no allocation beyond
//! the names it returns, no recursion, `None` on anything malformed.

/// What [`parse`] extracts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// The subjectAltName has at least one dNSName.
    pub san_dns: bool,
    /// The subjectAltName has at least one iPAddress.
    pub san_ip: bool,
    /// The subject's commonName values (UTF8String, PrintableString,
    /// IA5String or TeletexString), as bytes.
    pub common_names: Vec<Vec<u8>>,
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];

/// One tag-length-value: (tag, value, rest). Single-byte tags and
/// definite lengths of up to four bytes, as DER certificates use.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1F == 0x1F {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..n {
            let (&b, r) = rest.split_first()?;
            len = (len << 8) | usize::from(b);
            rest = r;
        }
        len
    };
    if rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    Some((tag, value, rest))
}

fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    (tag == want).then_some((value, rest))
}

/// Parses a DER certificate.
pub fn parse(der: &[u8]) -> Option<CertInfo> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional.
    if let Some((0xA0, _, r)) = tlv(rest) {
        rest = r;
    }
    let (_, _serial, r) = tlv(rest)?;
    let (_sig_alg, r) = expect(r, SEQUENCE)?;
    let (_issuer, r) = expect(r, SEQUENCE)?;
    let (validity, r) = expect(r, SEQUENCE)?;
    let (not_before, vr) = time(validity)?;
    let (not_after, _) = time(vr)?;
    let (subject, r) = expect(r, SEQUENCE)?;
    let (_spki, mut r) = expect(r, SEQUENCE)?;
    let mut info = CertInfo {
        not_before,
        not_after,
        common_names: common_names(subject)?,
        ..CertInfo::default()
    };
    // Optional unique ids, then [3] EXPLICIT extensions.
    while let Some((tag, value, next)) = tlv(r) {
        if tag == 0xA3 {
            let (exts, _) = expect(value, SEQUENCE)?;
            extensions(exts, &mut info)?;
        }
        r = next;
    }
    Some(info)
}

fn common_names(mut name: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    while !name.is_empty() {
        let (rdn, rest) = expect(name, SET)?;
        name = rest;
        let mut atvs = rdn;
        while !atvs.is_empty() {
            let (atv, r) = expect(atvs, SEQUENCE)?;
            atvs = r;
            let (oid, vr) = expect(atv, OID)?;
            let (tag, value, _) = tlv(vr)?;
            // UTF8String, PrintableString, TeletexString, IA5String.
            if oid == OID_COMMON_NAME && matches!(tag, 0x0C | 0x13 | 0x14 | 0x16) {
                out.push(value.to_vec());
            }
        }
    }
    Some(out)
}

fn extensions(mut exts: &[u8], info: &mut CertInfo) -> Option<()> {
    while !exts.is_empty() {
        let (ext, rest) = expect(exts, SEQUENCE)?;
        exts = rest;
        let (oid, mut r) = expect(ext, OID)?;
        if let Some((BOOLEAN, _, next)) = tlv(r) {
            r = next;
        }
        let (value, _) = expect(r, OCTET_STRING)?;
        if oid != OID_SUBJECT_ALT_NAME {
            continue;
        }
        let (mut names, _) = expect(value, SEQUENCE)?;
        while !names.is_empty() {
            let (tag, _, next) = tlv(names)?;
            names = next;
            match tag {
                0x82 => info.san_dns = true,
                0x87 => info.san_ip = true,
                _ => {}
            }
        }
    }
    Some(())
}

/// A UTCTime or GeneralizedTime in its DER form (`...Z`), as Unix seconds.
fn time(input: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    let digits = |s: &[u8]| -> Option<i64> {
        s.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, body) = match (tag, value.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(value.get(..2)?)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, value.get(2..)?)
        }
        (GENERALIZED_TIME, 15) => (digits(value.get(..4)?)?, value.get(4..)?),
        _ => return None,
    };
    if body.last() != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| digits(body.get(i..i + 2)?);
    let (mo, d, h, mi, s) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some((
        days_from_civil(year, mo, d) * 86_400 + h * 3600 + mi * 60 + s,
        rest,
    ))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Whether a certificate's common name matches `host` as GnuTLS's
/// hostname check does when a certificate has no DNS subjectAltName:
/// case-insensitive, with a `*` allowed as the whole leftmost label.
pub fn cn_matches(cn: &[u8], host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host).as_bytes();
    if cn.eq_ignore_ascii_case(host) {
        return true;
    }
    match cn.strip_prefix(b"*.") {
        Some(suffix) if suffix.contains(&b'.') => match host.iter().position(|&c| c == b'.') {
            Some(dot) => dot > 0 && host[dot + 1..].eq_ignore_ascii_case(suffix),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2119, 10, 17), 54_710);
    }

    #[test]
    fn times() {
        let utc = [
            0x17, 13, b'1', b'9', b'1', b'1', b'1', b'0', b'0', b'8', b'3', b'3', b'1', b'8', b'Z',
        ];
        assert_eq!(time(&utc).map(|t| t.0), Some(1_573_374_798));
        let mut gen = vec![0x18, 15];
        gen.extend_from_slice(b"21191017083318Z");
        assert_eq!(
            time(&gen).map(|t| t.0),
            Some(54_710 * 86_400 + 8 * 3600 + 33 * 60 + 18)
        );
        assert_eq!(time(&[0x17, 3, b'1', b'2', b'Z']), None);
    }

    #[test]
    fn common_name_matching() {
        assert!(cn_matches(b"zeromq.org", "ZeroMQ.org"));
        assert!(cn_matches(b"zeromq.org", "zeromq.org."));
        assert!(!cn_matches(b"zeromq.org", "www.zeromq.org"));
        assert!(cn_matches(b"*.zeromq.org", "www.zeromq.org"));
        assert!(!cn_matches(b"*.zeromq.org", "a.b.zeromq.org"));
        assert!(!cn_matches(b"*.org", "zeromq.org"));
        assert!(!cn_matches(b"*.zeromq.org", ".zeromq.org"));
    }

    #[test]
    fn garbage_is_none_never_a_panic() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(parse(&[0x30, 0x85, 0, 0, 0, 0, 1]), None);
        let mut x: u32 = 1;
        for len in 0..300 {
            let mut v = vec![0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0xF0];
            for _ in 0..len {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                v.push(
                    [
                        0x30,
                        0x31,
                        0x06,
                        0x17,
                        0x18,
                        0xA3,
                        0x04,
                        0x82,
                        (x >> 16) as u8,
                    ][(x >> 8) as usize % 9],
                );
            }
            let _ = parse(&v);
        }
    }
}
