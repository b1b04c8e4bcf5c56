//! Little-endian primitives of the delta format ([`super::delta`]): LEB128
//! varints, zigzag varints, `f64`, length-prefixed UTF-8. A [`Reader`]
//! checks every length against what is left, so no input panics or
//! allocates more than its own size.

use std::fmt;

/// A malformed encoding: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Byte offset where reading stopped.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A string of at most 2^32 − 1 bytes: varint length, then the bytes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads the primitives from a byte slice.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub(crate) fn bad(&self, reason: &'static str) -> WireError {
        WireError {
            offset: self.at,
            reason,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.bad("truncated"))?;
        let s = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| self.bad("truncated"))?;
        self.at = end;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if shift == 63 && b > 1 {
                    break;
                }
                return Ok(v);
            }
        }
        Err(self.bad("varint longer than 64 bits"))
    }

    pub(crate) fn zigzag(&mut self) -> Result<i64, WireError> {
        let u = self.varint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub(crate) fn f64(&mut self) -> Result<f64, WireError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A varint that must be at most `max`.
    pub(crate) fn count(&mut self, max: usize, reason: &'static str) -> Result<usize, WireError> {
        let n = self.varint()?;
        if n > max as u64 {
            return Err(self.bad(reason));
        }
        Ok(n as usize)
    }

    /// A string of at most `max` bytes, valid UTF-8.
    pub(crate) fn str(&mut self, max: usize) -> Result<&'a str, WireError> {
        let n = self.count(max, "string too long")?;
        let b = self.take(n)?;
        std::str::from_utf8(b).map_err(|_| self.bad("string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn primitives_round_trip() {
        let mut out = Vec::new();
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            put_varint(&mut out, v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            put_zigzag(&mut out, v);
        }
        put_f64(&mut out, -0.5);
        put_str(&mut out, "héllo");
        let mut r = Reader::new(&out);
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(r.varint().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(r.zigzag().unwrap(), v);
        }
        assert_eq!(r.f64().unwrap(), -0.5);
        assert_eq!(r.str(16).unwrap(), "héllo");
        assert!(r.is_done());
        assert!(r.u8().is_err());
    }

    #[test]
    fn overlong_and_truncated_inputs_are_errors() {
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
        assert!(Reader::new(&[0x80]).varint().is_err());
        assert!(Reader::new(&[5, b'a']).str(10).is_err());
        assert!(Reader::new(&[5, b'a', b'b', b'c', b'd', b'e'])
            .str(4)
            .is_err());
        assert!(Reader::new(&[2, 0xff, 0xfe]).str(4).is_err());
    }
}
