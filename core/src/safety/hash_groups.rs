//! Repeated 64-bit hashes: the candidates of the duplicate check.
//!
//! The duplicate check hashes every current entity (its identity key, or its type and
//! content) and compares real values only for groups of equal hashes. The hashes are
//! collected by a parallel aggregate: each worker keeps its own list, the lists travel to
//! the leader in the byte form below, and the leader finds the repeated values.

/// The hashes that occur more than once, the most frequent first (ties by value, so the
/// answer does not depend on the order the workers delivered), at most `limit` of them.
pub fn repeated_hashes(hashes: &mut [i64], limit: usize) -> Vec<i64> {
    hashes.sort_unstable();
    let mut groups: Vec<(usize, i64)> = hashes
        .chunk_by(|a, b| a == b)
        .filter(|g| g.len() > 1)
        .map(|g| (g.len(), g[0]))
        .collect();
    groups.sort_unstable_by_key(|&(n, h)| (std::cmp::Reverse(n), h));
    groups.truncate(limit);
    groups.into_iter().map(|(_, h)| h).collect()
}

/// A list of hashes as bytes (8 little-endian bytes each), for a worker's partial state.
pub fn to_bytes(hashes: &[i64]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.to_le_bytes()).collect()
}

/// The hashes in `bytes`, appended to `into`; `false` (and nothing appended) when the
/// length is not a multiple of 8.
pub fn extend_from_bytes(into: &mut Vec<i64>, bytes: &[u8]) -> bool {
    if !bytes.len().is_multiple_of(8) {
        return false;
    }
    into.extend(
        bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("chunks of 8"))),
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn most_frequent_first_then_by_value() {
        let mut h = vec![5, 1, 3, 5, 3, 5, 9, 3, 7, 7];
        assert_eq!(repeated_hashes(&mut h, 10), vec![3, 5, 7]);
        let mut h = vec![5, 1, 3, 5, 3, 5, 9, 3, 7, 7];
        assert_eq!(repeated_hashes(&mut h, 1), vec![3]);
        assert!(repeated_hashes(&mut [1, 2, 3], 10).is_empty());
        assert!(repeated_hashes(&mut [], 10).is_empty());
    }

    #[test]
    fn bytes_refuse_a_torn_length() {
        let mut v = vec![1];
        assert!(!extend_from_bytes(&mut v, &[0; 7]));
        assert_eq!(v, vec![1]);
    }

    proptest! {
        #[test]
        fn bytes_round_trip(a in prop::collection::vec(any::<i64>(), 0..50), b in prop::collection::vec(any::<i64>(), 0..50)) {
            let mut joined = a.clone();
            prop_assert!(extend_from_bytes(&mut joined, &to_bytes(&b)));
            prop_assert_eq!(joined, a.iter().chain(&b).copied().collect::<Vec<_>>());
        }

        /// The answer is exactly the values counted more than once, whatever the order
        /// the partial lists were combined in.
        #[test]
        fn repeated_are_those_counted_twice(hashes in prop::collection::vec(0i64..20, 0..60), split in 0usize..60) {
            let mut counts: HashMap<i64, usize> = HashMap::new();
            for h in &hashes { *counts.entry(*h).or_default() += 1; }
            let mut expected: Vec<(usize, i64)> = counts.into_iter().filter(|&(_, n)| n > 1).map(|(h, n)| (n, h)).collect();
            expected.sort_by_key(|&(n, h)| (std::cmp::Reverse(n), h));
            let split = split.min(hashes.len());
            let mut combined = hashes[split..].to_vec();
            combined.extend_from_slice(&hashes[..split]);
            prop_assert_eq!(repeated_hashes(&mut combined, usize::MAX), expected.into_iter().map(|(_, h)| h).collect::<Vec<_>>());
        }
    }
}
