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

/// CRC32 (ISO-HDLC, as in .xz and zlib), continued from `crc` (0 to start): crc32fast's,
/// which the gzip decoder links anyway (a second table would be 8 KB more on the router).
pub fn crc32(crc: u32, data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(crc);
    h.update(data);
    h.finalize()
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

    #[test]
    fn check_values_of_the_standard_test_string() {
        assert_eq!(crc64(0, b"123456789"), 0x995D_C9BB_DF19_39FA);
        assert_eq!(crc32(0, b"123456789"), 0xCBF4_3926);
        assert_eq!(crc64(0, b""), 0);
        assert_eq!(crc32(0, b""), 0);
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
            let k32 = crc32(crc32(0, &data[..k]), &data[k..n]);
            assert_eq!(k32, crc32(0, &data[..n]), "crc32 split {k}/{n}");
        }
    }
}
