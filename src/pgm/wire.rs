//! PGM packets (RFC 3208 section 8 and 9): bytes in, packets out, and back.
//!
//! Every packet starts with the 16-byte common header (source port,
//! destination port, type, option bits, checksum, the 6-byte GSI and the
//! TSDU length). The types this crate speaks are SPM, ODATA, RDATA, NAK,
//! NNAK, NCF and SPMR; POLL, POLR, ACK and anything unknown parse as
//! [`Body::Other`] and are ignored by the state machines, as OpenPGM
//! ignores what it does not use.
//!
//! Options (section 9) follow the type-specific header when the
//! OPT_PRESENT bit is set, always led by OPT_LENGTH (the total length of the
//! options) and ended by the option with its E bit set. Of those OpenPGM
//! sends we keep OPT_FRAGMENT (ODATA/RDATA of an APDU larger than a TSDU),
//! OPT_NAK_LIST (NAK/NCF naming up to 62 more sequence numbers), OPT_FIN,
//! OPT_SYN and OPT_RST (session start and end); the others are checked for
//! length and skipped.
//!
//! Parsing never trusts a length field: each one is checked against the
//! bytes that are there before anything is read or allocated, and a packet
//! whose parts do not add up exactly is refused. The checksum (the Internet
//! checksum over the whole PGM packet, RFC 3208 8.1) is verified when the
//! sender filled it in (zero means "not computed").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol number of PGM (raw sockets, `pgm://`).
pub const IPPROTO_PGM: i32 = 113;

/// Size of the common header.
pub const HEADER_LEN: usize = 16;
/// Size of the ODATA/RDATA header after the common header.
pub const DATA_HEADER_LEN: usize = 8;
/// Room OpenPGM keeps in every TPDU for OPT_LENGTH and OPT_FRAGMENT, so
/// that its TSDU (`PGM_MSS`) is this much smaller than the TPDU allows.
pub const FRAGMENT_OPTIONS_ROOM: usize = 20;
/// Most sequence numbers OPT_NAK_LIST carries (its length is one byte).
pub const NAK_LIST_MAX: usize = 62;

/// Packet types (RFC 3208 8, the `type` field).
pub mod types {
    /// Source Path Message.
    pub const SPM: u8 = 0x00;
    /// Poll request (DLR).
    pub const POLL: u8 = 0x01;
    /// Poll response (DLR).
    pub const POLR: u8 = 0x02;
    /// Original data.
    pub const ODATA: u8 = 0x04;
    /// Repair data.
    pub const RDATA: u8 = 0x05;
    /// Negative acknowledgement.
    pub const NAK: u8 = 0x08;
    /// Null NAK (from a DLR).
    pub const NNAK: u8 = 0x09;
    /// NAK confirmation.
    pub const NCF: u8 = 0x0A;
    /// SPM request.
    pub const SPMR: u8 = 0x0C;
    /// PGMCC acknowledgement.
    pub const ACK: u8 = 0x0D;
}

/// Bits of the header's options field.
pub mod opt_bits {
    /// Options follow the type-specific header.
    pub const PRESENT: u8 = 0x01;
    /// Options that network elements must read.
    pub const NETWORK: u8 = 0x02;
    /// Variable-length parity packets (FEC).
    pub const VAR_PKTLEN: u8 = 0x40;
    /// A parity packet (FEC).
    pub const PARITY: u8 = 0x80;
}

/// Option types (RFC 3208 9, without the E bit).
pub mod opt {
    /// Total length of the options; always first.
    pub const LENGTH: u8 = 0x00;
    /// Fragment of a larger APDU.
    pub const FRAGMENT: u8 = 0x01;
    /// More sequence numbers in a NAK or NCF.
    pub const NAK_LIST: u8 = 0x02;
    /// Late join.
    pub const JOIN: u8 = 0x03;
    /// Session start.
    pub const SYN: u8 = 0x0D;
    /// Session end.
    pub const FIN: u8 = 0x0E;
    /// Session reset.
    pub const RST: u8 = 0x0F;
    /// The E bit: last option.
    pub const END: u8 = 0x80;
}

/// Global Source Identifier: 6 bytes naming a source host's session.
pub type Gsi = [u8; 6];

/// Transport Session Identifier: GSI and source port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tsi {
    /// The source's GSI.
    pub gsi: Gsi,
    /// The source's data-source port.
    pub sport: u16,
}

/// Why bytes are not a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than a header or a length field needs.
    Truncated,
    /// A field that breaks the rules (lengths that do not add up, bad
    /// address family, options without OPT_LENGTH...).
    Malformed,
    /// The checksum is wrong.
    Checksum,
}

/// APDU fragment position (OPT_FRAGMENT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Sequence number of the APDU's first fragment.
    pub first_sqn: u32,
    /// Offset of this fragment in the APDU.
    pub offset: u32,
    /// Length of the whole APDU.
    pub apdu_len: u32,
}

/// The options of a packet that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// OPT_FRAGMENT.
    pub fragment: Option<Fragment>,
    /// OPT_NAK_LIST: the sequence numbers after the header's.
    pub nak_list: Vec<u32>,
    /// OPT_FIN: the source is closing its session.
    pub fin: bool,
    /// OPT_SYN: the first packet of a session.
    pub syn: bool,
    /// OPT_RST: the source reset its session.
    pub rst: bool,
}

/// A parsed packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Source port (the data-source port for downstream packets).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// The header's option bits.
    pub opt_bits: u8,
    /// The GSI: the source's for every type this crate speaks.
    pub gsi: Gsi,
    /// Options.
    pub options: Options,
    /// The type-specific part.
    pub body: Body<'a>,
}

/// The type-specific part of a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// SPM: the source's window and its address.
    Spm {
        /// SPM sequence number (orders SPMs, not data).
        spm_sqn: u32,
        /// Trailing edge of the transmit window.
        trail: u32,
        /// Leading edge (the last ODATA sent; trail - 1 when none).
        lead: u32,
        /// The source's unicast address (where NAKs go).
        nla: IpAddr,
    },
    /// ODATA or RDATA.
    Data {
        /// RDATA rather than ODATA.
        repair: bool,
        /// Data sequence number.
        sqn: u32,
        /// Trailing edge of the transmit window.
        trail: u32,
        /// The TSDU.
        tsdu: &'a [u8],
    },
    /// NAK, NNAK or NCF.
    Nak {
        /// The packet type (NAK, NNAK or NCF).
        kind: u8,
        /// The first sequence number asked for (more in `options.nak_list`).
        sqn: u32,
        /// The source's address.
        source: IpAddr,
        /// The multicast group.
        group: IpAddr,
    },
    /// SPM request.
    Spmr,
    /// Any other type (POLL, POLR, ACK, unknown): ignored.
    Other(u8),
}

impl Packet<'_> {
    /// The TSI of the source this packet is from (downstream packets) or
    /// for (NAK, SPMR: the ports are swapped on the way up).
    pub fn tsi(&self) -> Tsi {
        let sport = match self.body {
            Body::Spm { .. } | Body::Data { .. } | Body::Other(_) => self.sport,
            Body::Nak { kind, .. } if kind == types::NCF => self.sport,
            Body::Nak { .. } | Body::Spmr => self.dport,
        };
        Tsi {
            gsi: self.gsi,
            sport,
        }
    }

    /// All sequence numbers a NAK, NNAK or NCF names, header's first.
    pub fn nak_sqns(&self) -> impl Iterator<Item = u32> + '_ {
        let first = match self.body {
            Body::Nak { sqn, .. } => Some(sqn),
            _ => None,
        };
        first.into_iter().chain(
            self.options
                .nak_list
                .iter()
                .copied()
                .filter(move |_| first.is_some()),
        )
    }
}

// ---- checksum -------------------------------------------------------------

/// The Internet checksum (RFC 1071) of `data`: the one's complement of the
/// one's complement sum of its 16-bit words, an odd last byte padded.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u64::from(u16::from_be_bytes([*b, 0]));
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// Fills in the checksum of a packet built with a zero checksum field.
/// A computed zero goes out as 0xFFFF (zero means "none", RFC 3208 8.1).
fn seal(pkt: &mut [u8]) {
    if pkt.len() < HEADER_LEN {
        return;
    }
    pkt[6] = 0;
    pkt[7] = 0;
    let c = match checksum(pkt) {
        0 => 0xFFFF,
        c => c,
    };
    pkt[6..8].copy_from_slice(&c.to_be_bytes());
}

// ---- reading --------------------------------------------------------------

/// A bounds-checked reader: every `take` fails cleanly past the end.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.data.len() < n {
            return Err(ParseError::Truncated);
        }
        let (a, b) = self.data.split_at(n);
        self.data = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// An NLA: AFI (1 = IPv4, 2 = IPv6), a reserved half-word, the address.
    fn nla(&mut self) -> Result<IpAddr, ParseError> {
        let afi = self.u16()?;
        let _reserved = self.u16()?;
        match afi {
            1 => {
                let b = self.take(4)?;
                Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            }
            2 => {
                let b = self.take(16)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Ok(IpAddr::V6(Ipv6Addr::from(a)))
            }
            _ => Err(ParseError::Malformed),
        }
    }
}

/// Parses one PGM packet (the bytes after the IP or UDP header).
pub fn parse(data: &[u8]) -> Result<Packet<'_>, ParseError> {
    if data.len() < HEADER_LEN {
        return Err(ParseError::Truncated);
    }
    let stored = u16::from_be_bytes([data[6], data[7]]);
    if stored != 0 && checksum(data) != 0 {
        return Err(ParseError::Checksum);
    }
    let mut r = Reader { data };
    let sport = r.u16()?;
    let dport = r.u16()?;
    let ptype = r.u8()?;
    let opt_bits = r.u8()?;
    let _checksum = r.u16()?;
    let mut gsi = [0u8; 6];
    gsi.copy_from_slice(r.take(6)?);
    let tsdu_len = usize::from(r.u16()?);

    let body_start = match ptype {
        types::SPM => {
            let spm_sqn = r.u32()?;
            let trail = r.u32()?;
            let lead = r.u32()?;
            let nla = r.nla()?;
            Body::Spm {
                spm_sqn,
                trail,
                lead,
                nla,
            }
        }
        types::ODATA | types::RDATA => {
            let sqn = r.u32()?;
            let trail = r.u32()?;
            Body::Data {
                repair: ptype == types::RDATA,
                sqn,
                trail,
                tsdu: &[],
            }
        }
        types::NAK | types::NNAK | types::NCF => {
            let sqn = r.u32()?;
            let source = r.nla()?;
            let group = r.nla()?;
            Body::Nak {
                kind: ptype,
                sqn,
                source,
                group,
            }
        }
        types::SPMR => Body::Spmr,
        other => {
            // Unknown or unused: nothing more is read.
            return Ok(Packet {
                sport,
                dport,
                opt_bits,
                gsi,
                options: Options::default(),
                body: Body::Other(other),
            });
        }
    };
    let options = if opt_bits & opt_bits::PRESENT != 0 {
        parse_options(&mut r)?
    } else {
        Options::default()
    };
    let body = match body_start {
        Body::Data {
            repair, sqn, trail, ..
        } => {
            // The TSDU is exactly what is left.
            if r.data.len() != tsdu_len {
                return Err(ParseError::Malformed);
            }
            Body::Data {
                repair,
                sqn,
                trail,
                tsdu: r.data,
            }
        }
        other => {
            if tsdu_len != 0 {
                return Err(ParseError::Malformed);
            }
            other
        }
    };
    Ok(Packet {
        sport,
        dport,
        opt_bits,
        gsi,
        options,
        body,
    })
}

/// Options: OPT_LENGTH first, then options until one carries the E bit,
/// all within the length OPT_LENGTH announced.
fn parse_options(r: &mut Reader<'_>) -> Result<Options, ParseError> {
    let ty = r.u8()?;
    let len = r.u8()?;
    if ty != opt::LENGTH || len != 4 {
        return Err(ParseError::Malformed);
    }
    let total = usize::from(r.u16()?);
    if total < 4 + 4 {
        // At least one option after OPT_LENGTH.
        return Err(ParseError::Malformed);
    }
    let mut area = Reader {
        data: r.take(total - 4)?,
    };
    let mut o = Options::default();
    loop {
        let ty = area.u8()?;
        let len = usize::from(area.u8()?);
        if len < 4 {
            return Err(ParseError::Malformed);
        }
        let mut v = Reader {
            data: area.take(len - 2)?,
        };
        match ty & !opt::END {
            opt::FRAGMENT => {
                if len != 16 {
                    return Err(ParseError::Malformed);
                }
                let _flags = v.u16()?;
                o.fragment = Some(Fragment {
                    first_sqn: v.u32()?,
                    offset: v.u32()?,
                    apdu_len: v.u32()?,
                });
            }
            opt::NAK_LIST => {
                let _flags = v.u16()?;
                if v.data.len() % 4 != 0 || v.data.len() / 4 > NAK_LIST_MAX {
                    return Err(ParseError::Malformed);
                }
                while !v.data.is_empty() {
                    o.nak_list.push(v.u32()?);
                }
            }
            opt::FIN => o.fin = true,
            opt::SYN => o.syn = true,
            opt::RST => o.rst = true,
            // Others (JOIN, parity, PGMCC, redirect...): length-checked
            // above, otherwise ignored.
            _ => {}
        }
        if ty & opt::END != 0 {
            break;
        }
    }
    if !area.data.is_empty() {
        return Err(ParseError::Malformed);
    }
    Ok(o)
}

// ---- writing --------------------------------------------------------------

fn header(out: &mut Vec<u8>, sport: u16, dport: u16, ptype: u8, bits: u8, gsi: &Gsi, tsdu: u16) {
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.push(ptype);
    out.push(bits);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(gsi);
    out.extend_from_slice(&tsdu.to_be_bytes());
}

fn put_nla(out: &mut Vec<u8>, a: &IpAddr) {
    match a {
        IpAddr::V4(v4) => {
            out.extend_from_slice(&1u16.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.extend_from_slice(&2u16.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// Writes an SPM into `out` (cleared first). `fin` adds OPT_FIN, as
/// OpenPGM's last SPMs when a source closes.
#[allow(clippy::too_many_arguments)]
pub fn write_spm(
    out: &mut Vec<u8>,
    tsi: &Tsi,
    dport: u16,
    spm_sqn: u32,
    trail: u32,
    lead: u32,
    nla: &IpAddr,
    fin: bool,
) {
    out.clear();
    let bits = if fin { opt_bits::PRESENT } else { 0 };
    header(out, tsi.sport, dport, types::SPM, bits, &tsi.gsi, 0);
    out.extend_from_slice(&spm_sqn.to_be_bytes());
    out.extend_from_slice(&trail.to_be_bytes());
    out.extend_from_slice(&lead.to_be_bytes());
    put_nla(out, nla);
    if fin {
        out.extend_from_slice(&[opt::LENGTH, 4, 0, 8]);
        out.extend_from_slice(&[opt::FIN | opt::END, 4, 0, 0]);
    }
    seal(out);
}

/// Writes an ODATA or RDATA packet carrying `tsdu` into `out` (cleared
/// first). `tsdu` must fit the 16-bit length field.
pub fn write_data(
    out: &mut Vec<u8>,
    tsi: &Tsi,
    dport: u16,
    repair: bool,
    sqn: u32,
    trail: u32,
    tsdu: &[u8],
) {
    out.clear();
    let ptype = if repair { types::RDATA } else { types::ODATA };
    let len = u16::try_from(tsdu.len()).unwrap_or(u16::MAX);
    header(out, tsi.sport, dport, ptype, 0, &tsi.gsi, len);
    out.extend_from_slice(&sqn.to_be_bytes());
    out.extend_from_slice(&trail.to_be_bytes());
    out.extend_from_slice(&tsdu[..usize::from(len)]);
    seal(out);
}

/// Writes a NAK (`kind` NAK) or NCF (`kind` NCF) for `sqns` (at most
/// 1 + [`NAK_LIST_MAX`]; the rest are ignored) into `out` (cleared first).
/// A NAK goes up, so its ports are the data's swapped: `sport` is the data's
/// destination port and `tsi.sport` becomes the destination port. An NCF
/// goes down with the data's ports.
pub fn write_nak(
    out: &mut Vec<u8>,
    kind: u8,
    tsi: &Tsi,
    data_dport: u16,
    sqns: &[u32],
    source: &IpAddr,
    group: &IpAddr,
) {
    out.clear();
    let Some((&first, rest)) = sqns.split_first() else {
        return;
    };
    let rest = &rest[..rest.len().min(NAK_LIST_MAX)];
    let bits = if rest.is_empty() {
        0
    } else {
        opt_bits::PRESENT | opt_bits::NETWORK
    };
    let (sport, dport) = if kind == types::NCF {
        (tsi.sport, data_dport)
    } else {
        (data_dport, tsi.sport)
    };
    header(out, sport, dport, kind, bits, &tsi.gsi, 0);
    out.extend_from_slice(&first.to_be_bytes());
    put_nla(out, source);
    put_nla(out, group);
    if !rest.is_empty() {
        let list_len = 4 + 4 * rest.len();
        let total = 4 + list_len;
        out.extend_from_slice(&[opt::LENGTH, 4]);
        out.extend_from_slice(&(total as u16).to_be_bytes());
        out.extend_from_slice(&[opt::NAK_LIST | opt::END, list_len as u8, 0, 0]);
        for s in rest {
            out.extend_from_slice(&s.to_be_bytes());
        }
    }
    seal(out);
}

/// Writes an SPMR for the source `tsi` into `out` (cleared first).
pub fn write_spmr(out: &mut Vec<u8>, tsi: &Tsi, data_dport: u16) {
    out.clear();
    header(out, data_dport, tsi.sport, types::SPMR, 0, &tsi.gsi, 0);
    seal(out);
}

// ---- IP framing -----------------------------------------------------------

/// The addresses and payload of an IPv4 datagram as a raw socket delivers
/// it (header included): `(source, destination, payload)`. `None` unless it
/// is a whole, unfragmented PGM datagram.
pub fn ipv4_payload(datagram: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, &[u8])> {
    let (&vihl, _) = datagram.split_first()?;
    if vihl >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(vihl & 0x0F) * 4;
    if ihl < 20 || datagram.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    // Linux hands raw sockets the datagram as it came; a total length
    // that disagrees means something else is going on.
    if total < ihl || total > datagram.len() {
        return None;
    }
    // More-fragments or an offset: a fragment (the kernel reassembles
    // before raw delivery, so this is not expected).
    let frag = u16::from_be_bytes([datagram[6], datagram[7]]);
    if frag & 0x3FFF != 0 {
        return None;
    }
    if i32::from(datagram[9]) != IPPROTO_PGM {
        return None;
    }
    let src = Ipv4Addr::new(datagram[12], datagram[13], datagram[14], datagram[15]);
    let dst = Ipv4Addr::new(datagram[16], datagram[17], datagram[18], datagram[19]);
    Some((src, dst, &datagram[ihl..total]))
}

// ---- sequence numbers -----------------------------------------------------

/// Serial-number order (RFC 1982 style, as PGM's windows wrap): whether
/// `a` comes before `b`.
pub fn sqn_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Serial-number order: `a` before or equal to `b`.
pub fn sqn_lte(a: u32, b: u32) -> bool {
    a == b || sqn_lt(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsi() -> Tsi {
        Tsi {
            gsi: [0xb7, 0xc6, 0xd1, 0xbc, 0x03, 0x8a],
            sport: 47922,
        }
    }

    // Captured from Debian's libzmq5 (OpenPGM 5.3) over epgm: the UDP
    // payloads of an SPM, an ODATA with a 2-part message, a NAK with
    // OPT_NAK_LIST and the NCF answering it, and a closing SPM with OPT_FIN.
    const SPM: &str = "bb3215b30000230ab7c6d1bc038a00000000000000000000ffffffff000100007f000001";
    const ODATA: &str = "bb3215b30400ce83b7c6d1bc038a001500000000000000000000060170617274310b006d300061616161616161";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn captured_spm() {
        let b = unhex(SPM);
        let p = parse(&b).unwrap();
        assert_eq!(p.tsi(), tsi());
        assert_eq!(p.dport, 5555);
        assert_eq!(
            p.body,
            Body::Spm {
                spm_sqn: 0,
                trail: 0,
                lead: u32::MAX,
                nla: IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
        );
        // And we write the same bytes.
        let mut out = Vec::new();
        write_spm(
            &mut out,
            &tsi(),
            5555,
            0,
            0,
            u32::MAX,
            &IpAddr::V4(Ipv4Addr::LOCALHOST),
            false,
        );
        assert_eq!(out, b);
    }

    #[test]
    fn captured_odata() {
        let b = unhex(ODATA);
        let p = parse(&b).unwrap();
        let Body::Data {
            repair,
            sqn,
            trail,
            tsdu,
        } = p.body
        else {
            panic!("not data");
        };
        assert!(!repair);
        assert_eq!((sqn, trail), (0, 0));
        assert_eq!(&tsdu[..4], &[0, 0, 6, 1]);
        let mut out = Vec::new();
        write_data(&mut out, &tsi(), 5555, false, 0, 0, tsdu);
        assert_eq!(out, b);
    }

    #[test]
    fn captured_nak_and_ncf() {
        // OpenPGM's NAK for sqns 0 and 1 (the second in OPT_NAK_LIST) from
        // a libzmq SUB, and the NCF its libzmq PUB answered with.
        const NAK: &str = "15b3accc0803b690b7c6d1bc038a000000000000000100007f00000100010000efc001010004000c8208000000000001";
        const NCF: &str = "accc15b30a03b490b7c6d1bc038a000000000000000100007f00000100010000efc001010004000c8208000000000001";
        let tsi = Tsi {
            sport: 0xaccc,
            ..tsi()
        };
        let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let grp = IpAddr::V4(Ipv4Addr::new(239, 192, 1, 1));
        let mut out = Vec::new();
        write_nak(&mut out, types::NAK, &tsi, 5555, &[0, 1], &src, &grp);
        assert_eq!(out, unhex(NAK));
        let p = parse(&out).unwrap();
        assert_eq!(p.tsi(), tsi);
        assert_eq!(p.nak_sqns().collect::<Vec<_>>(), vec![0, 1]);
        write_nak(&mut out, types::NCF, &tsi, 5555, &[0, 1], &src, &grp);
        assert_eq!(out, unhex(NCF));
        let p = parse(&out).unwrap();
        assert_eq!(p.tsi(), tsi);
        assert_eq!((p.sport, p.dport), (0xaccc, 5555));
        assert!(
            matches!(p.body, Body::Nak { kind: types::NCF, source, group, .. } if source == src && group == grp)
        );
    }

    #[test]
    fn fin_spm_and_spmr() {
        let mut out = Vec::new();
        let nla = IpAddr::V6(Ipv6Addr::LOCALHOST);
        write_spm(&mut out, &tsi(), 5555, 9, 0, 19, &nla, true);
        let p = parse(&out).unwrap();
        assert!(p.options.fin);
        assert!(matches!(p.body, Body::Spm { nla: n, lead: 19, .. } if n == nla));
        write_spmr(&mut out, &tsi(), 5555);
        let p = parse(&out).unwrap();
        assert_eq!(p.body, Body::Spmr);
        assert_eq!(p.tsi(), tsi());
    }

    #[test]
    fn refusals() {
        let good = unhex(ODATA);
        // Every truncation is refused, never a panic.
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err(), "{n}");
        }
        // A flipped bit breaks the checksum.
        let mut bad = good.clone();
        bad[20] ^= 1;
        assert_eq!(parse(&bad), Err(ParseError::Checksum));
        // Zero checksum: not verified.
        let mut nock = good.clone();
        nock[6] = 0;
        nock[7] = 0;
        nock[20] ^= 1;
        assert!(parse(&nock).is_ok());
        // TSDU length that disagrees.
        let mut long = good.clone();
        long[15] += 1;
        seal(&mut long);
        assert_eq!(parse(&long), Err(ParseError::Malformed));
        // Options bit without OPT_LENGTH.
        let mut o = good.clone();
        o[5] = opt_bits::PRESENT;
        seal(&mut o);
        assert!(parse(&o).is_err());
    }

    #[test]
    fn options_bounds() {
        let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut out = Vec::new();
        let sqns: Vec<u32> = (0..100).collect();
        write_nak(&mut out, types::NAK, &tsi(), 1, &sqns, &src, &src);
        let p = parse(&out).unwrap();
        assert_eq!(p.nak_sqns().count(), 1 + NAK_LIST_MAX);
        // An option length that runs past OPT_LENGTH's total.
        let mut bad = out.clone();
        let opt_at = HEADER_LEN + 4 + 8 + 8 + 4;
        bad[opt_at + 1] = 255;
        seal(&mut bad);
        assert!(parse(&bad).is_err());
        // Option length under 4.
        let mut bad = out.clone();
        bad[opt_at + 1] = 2;
        seal(&mut bad);
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn ipv4_framing() {
        let mut d = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 1, 113, 0, 0, 127, 0, 0, 1, 239, 192, 1, 1,
        ];
        d.extend_from_slice(&[1, 2, 3]);
        let n = d.len() as u16;
        d[2..4].copy_from_slice(&n.to_be_bytes());
        let (s, t, p) = ipv4_payload(&d).unwrap();
        assert_eq!(
            (s, t, p),
            (
                Ipv4Addr::LOCALHOST,
                Ipv4Addr::new(239, 192, 1, 1),
                &[1u8, 2, 3][..]
            )
        );
        d[0] = 0x4F; // IHL past the end
        assert!(ipv4_payload(&d).is_none());
        d[0] = 0x45;
        d[9] = 17;
        assert!(ipv4_payload(&d).is_none());
        assert!(ipv4_payload(&[]).is_none());
    }

    #[test]
    fn serial_order() {
        assert!(sqn_lt(u32::MAX, 0));
        assert!(sqn_lt(1, 2));
        assert!(!sqn_lt(2, 2));
        assert!(sqn_lte(2, 2));
        assert!(sqn_lt(0x7FFF_FFF0, 0x8000_0001));
    }
}
