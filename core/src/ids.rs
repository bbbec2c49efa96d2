//! Reading UUIDs: the version and the timestamp of a version 7 UUID (RFC 9562,
//! section 5.7: `unix_ts_ms` is the first 48 bits, big-endian; the version is the high
//! nibble of byte 6). Making them is the shell's (the `uuid` crate).

/// The UUID's version (the high nibble of byte 6).
pub fn version(id: &[u8; 16]) -> u8 {
    id[6] >> 4
}

/// The Unix time in milliseconds a version 7 UUID carries; `None` for other versions.
pub fn v7_unix_millis(id: &[u8; 16]) -> Option<i64> {
    (version(id) == 7).then(|| id[..6].iter().fold(0i64, |ms, b| (ms << 8) | i64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_rfc_example() {
        // RFC 9562, appendix A.6: 017F22E2-79B0-7CC3-98C4-DC0C0C07398F, 2022-02-22 19:22:22 UTC
        let id = [
            0x01, 0x7F, 0x22, 0xE2, 0x79, 0xB0, 0x7C, 0xC3, 0x98, 0xC4, 0xDC, 0x0C, 0x0C, 0x07,
            0x39, 0x8F,
        ];
        assert_eq!(version(&id), 7);
        assert_eq!(v7_unix_millis(&id), Some(1_645_557_742_000));
    }

    #[test]
    fn other_versions_have_no_time() {
        let mut v4 = [0x11u8; 16];
        v4[6] = 0x4A;
        assert_eq!(v7_unix_millis(&v4), None);
    }

    proptest! {
        #[test]
        fn the_timestamp_is_the_first_48_bits(ms in 0i64..(1 << 48), rest in any::<[u8; 10]>()) {
            let mut id = [0u8; 16];
            id[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
            id[6..].copy_from_slice(&rest);
            id[6] = 0x70 | (id[6] & 0x0F);
            prop_assert_eq!(v7_unix_millis(&id), Some(ms));
        }
    }
}
