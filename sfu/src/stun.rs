//! Just enough STUN (RFC 8489) to route an ICE connectivity check to its session: the
//! USERNAME attribute is `our-ufrag:their-ufrag` (RFC 8445 §7.2.2).

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const ATTR_USERNAME: u16 = 0x0006;
const HEADER_LEN: usize = 20;

/// True when the datagram looks like STUN (RFC 7983 demultiplexing: first byte 0..=3 and
/// the magic cookie).
pub(crate) fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER_LEN && datagram[0] < 4 && datagram[4..8] == MAGIC_COOKIE
}

/// Our local ufrag from a STUN request's USERNAME, if present and well formed.
pub(crate) fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    if !is_stun(datagram) {
        return None;
    }
    let declared = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let end = HEADER_LEN.checked_add(declared)?.min(datagram.len());
    let mut attrs = datagram.get(HEADER_LEN..end)?;
    while attrs.len() >= 4 {
        let kind = u16::from_be_bytes([attrs[0], attrs[1]]);
        let len = usize::from(u16::from_be_bytes([attrs[2], attrs[3]]));
        let value = attrs.get(4..4 + len)?;
        if kind == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        let padded = (len + 3) & !3;
        attrs = attrs.get(4 + padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding_request(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attrs {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut out = vec![0x00, 0x01];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE);
        out.extend_from_slice(&[7; 12]);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn finds_username_after_other_attributes() {
        let msg = binding_request(&[(0x8029, b"12345678"), (ATTR_USERNAME, b"srvA:cli")]);
        assert_eq!(local_ufrag(&msg), Some("srvA"));
    }

    #[test]
    fn rejects_non_stun_and_truncated() {
        assert_eq!(local_ufrag(&[0x80; 40]), None);
        let mut msg = binding_request(&[(ATTR_USERNAME, b"abcd:efgh")]);
        msg.truncate(26);
        assert_eq!(local_ufrag(&msg), None);
        assert_eq!(local_ufrag(&binding_request(&[])), None);
    }
}
