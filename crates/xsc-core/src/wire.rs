//! A zero-copy reader of borsh bytes: what the contract decodes its hot arguments with.
//!
//! Decoding a `LightClientBlockView` with derived borsh allocates every signature, key and
//! account id (a mainnet block with `next_bps`: ~300 allocations, a large share of the wasm
//! instructions of a block). These readers borrow from the argument bytes instead and accept
//! exactly what borsh accepts (same tags, UTF-8 strings, no trailing bytes), so a relayer's
//! encoding means the same thing to both; the `fuzz/` targets check that equivalence.
//! Every failure is an [`Error::Decode`] naming the field and the byte offset, never a panic.

use crate::error::Error;

/// Cursor over borsh bytes.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Byte offset of the next read.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    fn err(&self, what: &'static str) -> Error {
        Error::Decode { what, at: self.pos }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Error> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.err(what))?;
        let out = self.buf.get(self.pos..end).ok_or_else(|| self.err(what))?;
        self.pos = end;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<&'a [u8; N], Error> {
        let b = self.bytes(N, what)?;
        // Exactly N bytes were taken.
        <&[u8; N]>::try_from(b).map_err(|_| self.err(what))
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(*self.array::<4>(what)?))
    }

    pub fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(*self.array::<8>(what)?))
    }

    pub fn u128(&mut self, what: &'static str) -> Result<u128, Error> {
        Ok(u128::from_le_bytes(*self.array::<16>(what)?))
    }

    /// An enum or option tag below `variants`.
    pub fn tag(&mut self, variants: u8, what: &'static str) -> Result<u8, Error> {
        let at = self.pos;
        let t = self.u8(what)?;
        if t >= variants {
            return Err(Error::Decode { what, at });
        }
        Ok(t)
    }

    /// `Option` tag: `false` for `None`, `true` for `Some` (borsh allows only 0 and 1).
    pub fn option(&mut self, what: &'static str) -> Result<bool, Error> {
        Ok(self.tag(2, what)? == 1)
    }

    /// A `Vec`/`String` length prefix. Rejects lengths that cannot fit in what is left, given
    /// that each element takes at least `min_elem` bytes (so a huge prefix fails at once).
    pub fn len(&mut self, min_elem: usize, what: &'static str) -> Result<usize, Error> {
        let at = self.pos;
        let n = self.u32(what)? as usize;
        let left = self.buf.len() - self.pos;
        if min_elem > 0 && n.saturating_mul(min_elem) > left {
            return Err(Error::Decode { what, at });
        }
        Ok(n)
    }

    /// A borsh `String`: length, then UTF-8 bytes (borsh rejects invalid UTF-8, so do we).
    pub fn string(&mut self, what: &'static str) -> Result<&'a str, Error> {
        let at = self.pos;
        let n = self.len(1, what)?;
        let b = self.bytes(n, what)?;
        core::str::from_utf8(b).map_err(|_| Error::Decode { what, at })
    }

    /// A borsh `Vec<u8>`.
    pub fn byte_vec(&mut self, what: &'static str) -> Result<&'a [u8], Error> {
        let n = self.len(1, what)?;
        self.bytes(n, what)
    }

    /// Everything was consumed (borsh's `from_slice` refuses trailing bytes).
    pub fn finish(&self, what: &'static str) -> Result<(), Error> {
        if self.pos != self.buf.len() {
            return Err(self.err(what));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_refuses_short_input() {
        let mut r = Reader::new(&[1, 0, 0, 0, 2]);
        assert_eq!(r.u32("a").unwrap(), 1);
        assert_eq!(r.u32("b").unwrap_err(), Error::Decode { what: "b", at: 4 });
        assert_eq!(r.u8("c").unwrap(), 2);
        r.finish("end").unwrap();
    }

    #[test]
    fn option_tags_other_than_0_and_1_are_refused() {
        assert!(!Reader::new(&[0]).option("o").unwrap());
        assert!(Reader::new(&[1]).option("o").unwrap());
        assert!(Reader::new(&[2]).option("o").is_err());
    }

    #[test]
    fn a_length_larger_than_the_input_fails_before_reading() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 1, 2]);
        assert_eq!(
            r.len(32, "v").unwrap_err(),
            Error::Decode { what: "v", at: 0 }
        );
    }

    #[test]
    fn strings_must_be_utf8_like_borsh() {
        let bad = [2, 0, 0, 0, 0xc3, 0x28];
        assert!(Reader::new(&bad).string("s").is_err());
        assert!(borsh::from_slice::<String>(&bad).is_err());
        let good = [2, 0, 0, 0, b'h', b'i'];
        assert_eq!(Reader::new(&good).string("s").unwrap(), "hi");
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut r = Reader::new(&[1, 2]);
        r.u8("a").unwrap();
        assert!(r.finish("end").is_err());
    }
}
