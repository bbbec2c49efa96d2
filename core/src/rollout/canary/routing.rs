//! Which keys (users, entities, sessions) a canary sends to the new version.
//!
//! A key's bucket is a pure function of (migration, key): the same key stays on the
//! same side for the whole rollout and across backends, restarts and platforms, and
//! different migrations split the population differently (a user is not always the
//! guinea pig). The hash is 64-bit FNV-1a, written out here because std's hashers
//! are explicitly not stable across releases, followed by the MurmurHash3 `fmix64`
//! finalizer: FNV-1a alone mixes the last bytes poorly, and keys like `user-1`,
//! `user-2` differ only there.

/// Buckets per key space: a bucket is a hundredth of a percent.
pub const BUCKETS: u32 = 10_000;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(bytes: impl IntoIterator<Item = u8>, mut hash: u64) -> u64 {
    for b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Bucket in `0..BUCKETS`. The migration name and key are separated by a NUL byte,
/// which PostgreSQL text cannot contain, so ("ab", "c") and ("a", "bc") differ.
pub fn routing_bucket(migration: &str, key: &str) -> u32 {
    let h = fnv1a(migration.bytes(), FNV_OFFSET);
    let h = fnv1a(std::iter::once(0u8).chain(key.bytes()), h);
    // 2^64 mod 10_000 is 1_616, so the modulo bias is below 1e-15: irrelevant.
    (fmix64(h) % u64::from(BUCKETS)) as u32
}

/// Whether a bucket is routed to the new version at `percentage` (values above 100
/// mean 100). Buckets below the cut-off go new, so raising the percentage only ever
/// moves keys from old to new: nobody flips back and forth during a rollout.
pub fn routes_to_new(bucket: u32, percentage: u8) -> bool {
    bucket < u32::from(percentage.min(100)) * (BUCKETS / 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(*b"", FNV_OFFSET), 0xcbf29ce484222325);
        assert_eq!(fnv1a(*b"a", FNV_OFFSET), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(*b"foobar", FNV_OFFSET), 0x85944171f73967e8);
    }

    #[test]
    fn buckets_are_pinned() {
        // If these change, every running canary reshuffles its users: don't.
        let got: Vec<u32> = ["user-0", "user-1", "user-42"]
            .iter()
            .map(|k| routing_bucket("m", k))
            .collect();
        assert_eq!(got, PINNED);
        assert_ne!(routing_bucket("ab", "c"), routing_bucket("a", "bc"));
    }

    const PINNED: [u32; 3] = [9043, 5174, 6150];

    #[test]
    fn shares_match_percentages() {
        let buckets: Vec<u32> = (0..10_000)
            .map(|i| routing_bucket("add_email", &format!("user-{i}")))
            .collect();
        for pct in [1u8, 5, 10, 25, 50, 90] {
            let share = buckets.iter().filter(|b| routes_to_new(**b, pct)).count() as f64 / 100.0;
            assert!(
                (share - f64::from(pct)).abs() <= 2.0,
                "{pct}% routed {share}%"
            );
        }
        assert!(buckets.iter().all(|b| *b < BUCKETS));
        assert!(buckets
            .iter()
            .all(|b| routes_to_new(*b, 100) && routes_to_new(*b, 255) && !routes_to_new(*b, 0)));
    }

    proptest! {
        #[test]
        fn raising_the_percentage_never_moves_a_key_back(key in ".*", migration in "[a-z_]{1,20}", a in 0u8..=100, b in 0u8..=100) {
            let bucket = routing_bucket(&migration, &key);
            prop_assert_eq!(bucket, routing_bucket(&migration, &key));
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(!routes_to_new(bucket, lo) || routes_to_new(bucket, hi));
        }
    }
}
