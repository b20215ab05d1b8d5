//! The versioned binary encoding shared by every key-side object that crosses a wire or a disk.
//!
//! # Framing
//!
//! Every object starts with a two-byte header, then its fields in a fixed order, and nothing
//! after the last field (trailing bytes are rejected):
//!
//! ```text
//! kind: u8 | version: u8 | fields...
//! ```
//!
//! * `kind` says what the object is ([`Kind`]), so a viewer's public keys can never be read as
//!   a camera's, nor an enrollment as an owner command.
//! * `version` is the format version of that kind. Every kind is at version [`VERSION`] (1).
//!   A reader that meets another version answers [`Error::UnsupportedVersion`] instead of
//!   guessing; a future format bumps the version and keeps reading the old one.
//!
//! # Field encodings
//!
//! | notation | bytes |
//! |---|---|
//! | `u8`, `u16`, `u32`, `u64` | unsigned, big-endian |
//! | `[N]` | exactly N raw bytes |
//! | `str8` | `u8` length, then that many UTF-8 bytes |
//! | `bytes16` | `u16` length, then that many raw bytes |
//!
//! The per-kind layouts are documented next to each type: [`crate::identity`],
//! [`crate::envelope`], [`crate::pairing`], [`crate::membership`].
//!
//! Signatures and MACs always cover a domain label (`"sealcam/v1 ..."`) followed by the exact
//! encoded bytes before them, so a signature made for one purpose never verifies for another.

use crate::Error;

/// The format version every kind is written at by this build.
pub const VERSION: u8 = 1;

/// What an encoded object is: the first byte of its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A camera's secret identity (the agent's 0600 state file).
    CameraIdentity = 0x01,
    /// A camera's id and public keys.
    CameraPublic = 0x02,
    /// A viewer device's secret keys (kept in IndexedDB by the browser).
    ViewerDevice = 0x03,
    /// A viewer device's name and public keys.
    ViewerPublic = 0x04,
    /// A media key sealed to one viewer and signed by the camera.
    Envelope = 0x05,
    /// The payload of a one-time pairing code.
    PairingCode = 0x06,
    /// A viewer's MACed enrollment request.
    Enrollment = 0x07,
    /// An owner-signed membership command.
    OwnerCommand = 0x08,
    /// The camera's persisted membership list.
    Membership = 0x09,
}

/// Appends fields to a growing buffer.
#[derive(Debug)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Starts an object of `kind` at the current [`VERSION`].
    pub(crate) fn new(kind: Kind) -> Self {
        Self::with_capacity(kind, 0)
    }

    /// A buffer with no header, for KDF inputs and HPKE `info` built from wire fields.
    pub(crate) fn unframed() -> Self {
        Self { buf: Vec::new() }
    }

    /// Like [`Self::new`] with room for `fields` more bytes, so encoding secrets never
    /// reallocates (which would leave copies behind in freed memory).
    pub(crate) fn with_capacity(kind: Kind, fields: usize) -> Self {
        let mut buf = Vec::with_capacity(2 + fields);
        buf.extend_from_slice(&[kind as u8, VERSION]);
        Self { buf }
    }

    pub(crate) fn u8(&mut self, value: u8) -> &mut Self {
        self.buf.push(value);
        self
    }

    pub(crate) fn u64(&mut self, value: u64) -> &mut Self {
        self.buf.extend_from_slice(&value.to_be_bytes());
        self
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// A `str8`. Callers only pass validated ids and names (at most 64 characters, so at
    /// most 256 bytes is impossible to exceed for ids; names are checked in bytes too).
    pub(crate) fn str8(&mut self, text: &str) -> &mut Self {
        let len = u8::try_from(text.len()).expect("ids and names are validated to fit a u8 length");
        self.buf.push(len);
        self.buf.extend_from_slice(text.as_bytes());
        self
    }

    /// A `bytes16`. Callers only pass objects this crate encoded, all far below 64 KiB.
    pub(crate) fn bytes16(&mut self, bytes: &[u8]) -> &mut Self {
        let len = u16::try_from(bytes.len()).expect("nested objects are far below 64 KiB");
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The bytes written so far (what a signature or MAC covers).
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads fields in order; every read fails with [`Error::Malformed`] instead of panicking.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks the header (kind, then version) and positions after it.
    pub(crate) fn new(bytes: &'a [u8], kind: Kind, what: &'static str) -> Result<Self, Error> {
        let mut reader = Self {
            what,
            bytes,
            pos: 0,
        };
        let found_kind = reader.u8()?;
        if found_kind != kind as u8 {
            return Err(reader.malformed(format!("object kind {found_kind:#04x} is not a {what}")));
        }
        let version = reader.u8()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion { what, version });
        }
        Ok(reader)
    }

    /// An [`Error::Malformed`] naming this object.
    pub(crate) fn malformed(&self, detail: impl Into<String>) -> Error {
        Error::Malformed {
            what: self.what,
            detail: detail.into(),
        }
    }

    /// How many bytes have been read (the signed prefix when the signature comes next).
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn raw(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.malformed(format!(
                "truncated: needed {len} more bytes at offset {}, {} left",
                self.pos,
                self.bytes.len() - self.pos
            )));
        };
        let field = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(field)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let field = self.raw(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(field);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn str8(&mut self) -> Result<&'a str, Error> {
        let len = usize::from(self.u8()?);
        let field = self.raw(len)?;
        std::str::from_utf8(field).map_err(|_| self.malformed("text field is not UTF-8"))
    }

    pub(crate) fn bytes16(&mut self) -> Result<&'a [u8], Error> {
        let len = usize::from(self.u16()?);
        self.raw(len)
    }

    /// Succeeds only if every byte was consumed.
    pub(crate) fn finish(self) -> Result<(), Error> {
        let left = self.bytes.len() - self.pos;
        if left == 0 {
            Ok(())
        } else {
            Err(self.malformed(format!("{left} unexpected trailing bytes")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut writer = Writer::new(Kind::Envelope);
        writer
            .u8(7)
            .u64(0x0102_0304_0506_0708)
            .str8("cam-1")
            .bytes16(&[9, 9])
            .raw(&[1, 2]);
        let bytes = writer.finish();
        assert_eq!(&bytes[..2], &[0x05, VERSION]);

        let mut reader = Reader::new(&bytes, Kind::Envelope, "test").unwrap();
        assert_eq!(reader.u8().unwrap(), 7);
        assert_eq!(reader.u64().unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(reader.str8().unwrap(), "cam-1");
        assert_eq!(reader.bytes16().unwrap(), &[9, 9]);
        assert_eq!(reader.array::<2>().unwrap(), [1, 2]);
        reader.finish().unwrap();
    }

    #[test]
    fn header_checks_kind_then_version() {
        let wrong_kind = Reader::new(&[0x02, VERSION], Kind::Envelope, "test").unwrap_err();
        assert!(matches!(wrong_kind, Error::Malformed { .. }));
        let wrong_version = Reader::new(&[0x05, 9], Kind::Envelope, "test").unwrap_err();
        assert_eq!(
            wrong_version,
            Error::UnsupportedVersion {
                what: "test",
                version: 9
            }
        );
        assert!(matches!(
            Reader::new(&[], Kind::Envelope, "test"),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn truncation_and_trailing_bytes_are_malformed() {
        let mut reader = Reader::new(&[0x05, VERSION, 0, 1], Kind::Envelope, "test").unwrap();
        assert!(matches!(reader.u64(), Err(Error::Malformed { .. })));
        let reader = Reader::new(&[0x05, VERSION, 0], Kind::Envelope, "test").unwrap();
        assert!(matches!(reader.finish(), Err(Error::Malformed { .. })));
    }
}
