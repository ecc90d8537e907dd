//! Little-endian fields of on-disk structures, read without panicking: a field past the end
//! of the buffer reads as 0, and the parsers' range checks then refuse it.

pub fn u16le(b: &[u8], o: usize) -> u16 {
    b.get(o..o.saturating_add(2))
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

pub fn u32le(b: &[u8], o: usize) -> u32 {
    b.get(o..o.saturating_add(4))
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

pub fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from(u32le(b, o)) | u64::from(u32le(b, o.saturating_add(4))) << 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_zero_past_the_end() {
        let b = [0x34, 0x12, 0x78, 0x56, 1, 0, 0, 0];
        assert_eq!(u16le(&b, 0), 0x1234);
        assert_eq!(u32le(&b, 0), 0x5678_1234);
        assert_eq!(u64le(&b, 0), 0x1_5678_1234);
        assert_eq!(u32le(&b, 6), 0);
        assert_eq!(u16le(&b, usize::MAX), 0);
    }
}
