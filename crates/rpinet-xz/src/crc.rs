//! The two checksums of the .xz format: CRC32 (headers, index, and the
//! CRC32 check) and CRC64 (the default check of the decompressed data, so
//! it runs over every byte of the image: slicing-by-8, ~8x a byte-wise table).

const fn tables64(poly: u64) -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ poly } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let p = t[s - 1][i];
            t[s][i] = (p >> 8) ^ t[0][(p & 0xFF) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

/// The slicing-by-8 tables, made on first use: 16 KiB on the heap, none in the router's
/// binary. Boxed: a `OnceLock` of the array itself is placed in .data (its lock state is not
/// all zeros), which put 16 KiB back into the binary.
static T64: std::sync::OnceLock<Box<[[u64; 256]; 8]>> = std::sync::OnceLock::new();

/// CRC64 (ECMA-182, reflected, as in .xz), continued from `crc` (0 to start).
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    let t64 = T64.get_or_init(|| Box::new(tables64(0xC96C_5795_D787_0F42)));
    let mut c = !crc;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let v = c ^ u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        c = t64[7][(v & 0xFF) as usize]
            ^ t64[6][((v >> 8) & 0xFF) as usize]
            ^ t64[5][((v >> 16) & 0xFF) as usize]
            ^ t64[4][((v >> 24) & 0xFF) as usize]
            ^ t64[3][((v >> 32) & 0xFF) as usize]
            ^ t64[2][((v >> 40) & 0xFF) as usize]
            ^ t64[1][((v >> 48) & 0xFF) as usize]
            ^ t64[0][(v >> 56) as usize];
    }
    for &b in words.remainder() {
        c = t64[0][((c ^ b as u64) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// The slicing-by-16 tables of CRC32, made on first use: 16 KiB on the heap (see T64).
static T32: std::sync::OnceLock<Box<[[u32; 256]; 16]>> = std::sync::OnceLock::new();

/// CRC32 (ISO-HDLC, as in .xz, gzip and zlib), continued from `crc` (0 to start):
/// slicing-by-16, several times faster than inflate, which the gzip import runs it beside.
pub fn crc32(crc: u32, data: &[u8]) -> u32 {
    let t = T32.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; 16]);
        for i in 0..256 {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
            t[0][i] = c;
        }
        for s in 1..16 {
            for i in 0..256 {
                let p = t[s - 1][i];
                t[s][i] = (p >> 8) ^ t[0][(p & 0xFF) as usize];
            }
        }
        t
    });
    let mut c = !crc;
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        let v = c ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let mut x = t[15][(v & 0xFF) as usize]
            ^ t[14][((v >> 8) & 0xFF) as usize]
            ^ t[13][((v >> 16) & 0xFF) as usize]
            ^ t[12][(v >> 24) as usize];
        for (k, &byte) in b[4..].iter().enumerate() {
            x ^= t[11 - k][byte as usize];
        }
        c = x;
    }
    for &b in blocks.remainder() {
        c = t[0][((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crc64_bytewise(data: &[u8]) -> u64 {
        let mut c = !0u64;
        for &b in data {
            c ^= b as u64;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xC96C_5795_D787_0F42
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    fn crc32_bytewise(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn check_values_of_the_standard_test_string() {
        assert_eq!(crc64(0, b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(crc64(0, b""), 0);
        assert_eq!(crc32(0, b""), 0);
    }

    #[test]
    fn crc32_of_long_inputs_at_odd_offsets() {
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        for (at, n) in [
            (0, 70_000),
            (1, 65_537),
            (7, 1024),
            (13, 4099),
            (3, 127),
            (5, 129),
        ] {
            let d = &data[at..at + n];
            assert_eq!(crc32(0, d), crc32_bytewise(d), "{at}+{n}");
        }
    }

    #[test]
    fn sliced_equals_bytewise_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for n in 0..data.len() {
            let want = crc64_bytewise(&data[..n]);
            assert_eq!(crc64(0, &data[..n]), want, "length {n}");
            let k = n / 3;
            assert_eq!(
                crc64(crc64(0, &data[..k]), &data[k..n]),
                want,
                "split {k}/{n}"
            );
            let want = crc32_bytewise(&data[..n]);
            assert_eq!(crc32(0, &data[..n]), want, "crc32 length {n}");
            let k32 = crc32(crc32(0, &data[..k]), &data[k..n]);
            assert_eq!(k32, want, "crc32 split {k}/{n}");
        }
    }
}
