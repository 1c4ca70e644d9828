//! Splitting the hidden set into a public part (the board during the phase) and a private
//! part (the final board), deterministically from the ids and a seed.

/// FNV-1a, 64-bit: stable across platforms and versions, unlike the standard hasher.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // A final avalanche so nearby ids spread over the whole range.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

/// Whether the item with this id belongs to the public part.
pub fn is_public(id: &str, public_fraction: f64, seed: u64) -> bool {
    let position = fnv1a(id.as_bytes(), seed) as f64 / u64::MAX as f64;
    position < public_fraction
}

/// The ids split into (public, private), each in the given order.
pub fn split_ids<'a>(
    ids: impl IntoIterator<Item = &'a str>,
    public_fraction: f64,
    seed: u64,
) -> (Vec<&'a str>, Vec<&'a str>) {
    ids.into_iter()
        .partition(|id| is_public(id, public_fraction, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &[&str] = &["row-4", "row-13", "row-15", "row-19"];

    #[test]
    fn the_split_is_stable_and_near_the_fraction() {
        let ids: Vec<String> = (0..10_000).map(|n| format!("row-{n}")).collect();
        let (public, private) = split_ids(ids.iter().map(String::as_str), 0.3, 42);
        assert_eq!(public.len() + private.len(), 10_000);
        assert!((2800..3200).contains(&public.len()), "{}", public.len());
        let (again, _) = split_ids(ids.iter().map(String::as_str), 0.3, 42);
        assert_eq!(public, again);
        let (other_seed, _) = split_ids(ids.iter().map(String::as_str), 0.3, 43);
        assert_ne!(public, other_seed);
    }

    #[test]
    fn the_split_function_does_not_change() {
        // Golden values: a change here would silently reshuffle every board.
        let ids: Vec<String> = (0..20).map(|n| format!("row-{n}")).collect();
        let (public, _) = split_ids(ids.iter().map(String::as_str), 0.3, 42);
        assert_eq!(public, GOLDEN);
    }
}
