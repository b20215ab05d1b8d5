//! Crockford base32 (<https://www.crockford.com/base32.html>): digits and upper-case letters
//! without I, L, O and U, so codes survive being read aloud and typed. Decoding is forgiving
//! the way Crockford specifies: any case, `O` read as `0`, `I` and `L` read as `1`.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Encodes `bytes`, most significant bit first, padding the last symbol with zero bits.
pub(super) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for byte in bytes {
        acc = (acc << 8) | u16::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol(acc >> bits));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol(acc << (5 - bits)));
    }
    out
}

fn symbol(value: u16) -> char {
    char::from(ALPHABET[usize::from(value & 0x1f)])
}

fn value(symbol: char) -> Option<u16> {
    let normalized = match symbol.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let position = ALPHABET
        .iter()
        .position(|candidate| char::from(*candidate) == normalized)?;
    u16::try_from(position).ok()
}

/// Decodes symbols (separators already removed). `None` for a character outside the alphabet
/// or non-zero padding bits, so every byte string has exactly one accepted spelling.
pub(super) fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut acc: u16 = 0;
    let mut bits = 0u32;
    for symbol in text.chars() {
        acc = (acc << 5) | value(symbol)?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits).ok()?);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits are padding: fewer than 5 of them, all zero.
    (bits < 5 && acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        assert_eq!(encode(&[]), "");
        assert_eq!(encode(&[0xff]), "ZW");
        assert_eq!(encode(&[0x00, 0x44, 0x32, 0x14, 0xc7]), "01234567");
        assert_eq!(decode("01234567").unwrap(), [0x00, 0x44, 0x32, 0x14, 0xc7]);
    }

    #[test]
    fn round_trips_every_length() {
        let bytes: Vec<u8> = (0..=44u8).map(|i| i.wrapping_mul(37)).collect();
        for len in 0..bytes.len() {
            assert_eq!(decode(&encode(&bytes[..len])).unwrap(), &bytes[..len]);
        }
    }

    #[test]
    fn forgiving_but_strict() {
        assert_eq!(decode("zw").unwrap(), [0xff]);
        assert_eq!(decode("oI"), decode("01"));
        assert_eq!(decode("U"), None);
        assert_eq!(decode("ZZ"), None, "non-zero padding bits");
        assert_eq!(decode("Z"), None, "a lone symbol is not a byte");
    }
}
