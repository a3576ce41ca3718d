//! The Shapley value.

use super::*;

// ---------------------------------------------------------------------------
// Shapley
// ---------------------------------------------------------------------------

/// Shapley-value attribution over channel *sets* (the order of touches and
/// repeats are ignored).
///
/// **Game.** The players are the channels; `v(S)` is the number of converted
/// journeys whose channel set is a non-empty subset of `S` (for value: the sum of
/// their values). Journeys with no channel are ignored: they belong to the
/// [`NO_TOUCH`](crate::NO_TOUCH) bucket, handled elsewhere. `v(N)` is therefore
/// `total_conversions`, and `baseline = v(N)`.
///
/// **Shapley value.** With `n` players,
/// `φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S))`.
/// By efficiency `Σ_i φ_i = v(N)`. `score = conversions = φ_i`,
/// `share = φ_i / Σ_j φ_j`, and `value` is `φ_i` of the value game. Since `v` is
/// monotone (for non-negative values) every `φ_i >= 0`. (For this `v`, `φ_i`
/// also equals `Σ_j value_j / |set_j|` over the converted journeys `j` whose set
/// contains `i`: `v` is a sum of unanimity games. The tests use this as an
/// oracle.)
///
/// Channels that appear in no converted journey are null players (`φ = 0`) and
/// are left out of `n`. Values are used as given (unlike [`markov`], `shapley`
/// does not reject negative or non-finite values; they make `v` non-monotone or
/// propagate).
///
/// **Exact** when `n <= min(exact_max_channels, SHAPLEY_EXACT_LIMIT)`:
/// `w[mask]` = conversions whose channel set is exactly `mask`, `v` is its
/// subset sum (zeta transform, `O(n · 2^n)`), and for each `i` the marginal
/// contributions are summed per coalition size `s` before being weighted by
/// `s! (n − s − 1)! / n! = 1 / (n · C(n − 1, s))` (so count sums are exact
/// integers).
///
/// **Sampled** beyond: `samples` uniformly random permutations (Fisher–Yates,
/// driven by SplitMix64 seeded with `seed`; bounded draws by Lemire's unbiased
/// multiply-and-reject). Along each permutation a journey's conversion is
/// credited to the channel that completes its set, i.e. `i`'s marginal
/// contribution `v(P_i ∪ {i}) − v(P_i)`; `φ_i` is the mean over permutations.
/// Each permutation credits exactly `v(N)`, so efficiency holds up to rounding.
/// Cost `O(samples · Σ_g |g|)` over the distinct channel sets `g`. The result is
/// reproducible for a fixed seed (and depends on this exact generator).
/// `exact` is `false`.
pub fn shapley(journeys: &[Journey], options: &ShapleyOptions) -> DataDrivenResult {
    let names = channel_names(journeys);
    let ids = channel_ids(&names);

    // Channel sets (sorted, deduplicated ids) of converted journeys, in a
    // canonical order, with their values.
    let mut sets: Vec<(Vec<u32>, f64)> = journeys
        .iter()
        .filter(|j| j.converted && !j.channels.is_empty())
        .map(|j| {
            let set: BTreeSet<u32> = j.channels.iter().map(|c| ids[c.as_str()]).collect();
            (set.into_iter().collect(), j.value)
        })
        .collect();
    sets.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let total_conversions = sets.len() as f64;
    let total_value: f64 = sets.iter().map(|(_, value)| value).sum();

    // Players: channels in some converted journey, numbered in name order.
    let mut plays = vec![false; names.len()];
    for &c in sets.iter().flat_map(|(set, _)| set) {
        plays[c as usize] = true;
    }
    let players: Vec<usize> = (0..names.len()).filter(|&c| plays[c]).collect();
    let mut player_of = vec![u32::MAX; names.len()];
    for (player, &c) in players.iter().enumerate() {
        player_of[c] = player as u32;
    }
    // Distinct sets over players, with their count and value.
    let mut groups: Vec<Group> = Vec::new();
    for (set, value) in &sets {
        let members: Vec<u32> = set.iter().map(|&c| player_of[c as usize]).collect();
        match groups.last_mut() {
            Some(group) if group.members == members => {
                group.weight[COUNT] += 1.0;
                group.weight[VALUE] += value;
            }
            _ => groups.push(Group {
                members,
                weight: [1.0, *value],
            }),
        }
    }

    let n = players.len();
    let exact = n <= options.exact_max_channels.min(SHAPLEY_EXACT_LIMIT);
    let phi = if exact {
        shapley_exact(n, &groups)
    } else {
        shapley_sampled(n, &groups, options.samples.max(1), options.seed)
    };

    let mut scores = vec![[0.0; 2]; names.len()];
    for (player, &c) in players.iter().enumerate() {
        scores[c] = phi[player];
    }
    let count_scores: Vec<f64> = scores.iter().map(|s| s[COUNT]).collect();
    let shares = normalise(&count_scores);
    let channels = names
        .iter()
        .enumerate()
        .map(|(i, name)| ChannelCredit {
            channel: (*name).to_owned(),
            score: scores[i][COUNT],
            share: shares[i],
            conversions: scores[i][COUNT],
            value: scores[i][VALUE],
        })
        .collect();
    DataDrivenResult {
        channels,
        total_conversions,
        total_value,
        baseline: total_conversions,
        exact,
    }
}

/// Converted journeys sharing one channel set: their count and value.
#[derive(Debug)]
struct Group {
    members: Vec<u32>,
    weight: [f64; 2],
}

/// Exact Shapley values (both layers) of `n <= SHAPLEY_EXACT_LIMIT` players.
fn shapley_exact(n: usize, groups: &[Group]) -> Vec<[f64; 2]> {
    if n == 0 {
        return Vec::new();
    }
    let size = 1_usize << n;
    // w[mask], then v[mask] = Σ_{T ⊆ mask} w[T] (zeta transform).
    let mut v = vec![[0.0_f64; 2]; size];
    for group in groups {
        let mask = group.members.iter().fold(0, |m, &p| m | (1_usize << p));
        v[mask] = group.weight; // distinct sets have distinct masks
    }
    for bit in (0..n).map(|i| 1_usize << i) {
        for mask in 0..size {
            if mask & bit != 0 {
                let below = v[mask ^ bit];
                v[mask][COUNT] += below[COUNT];
                v[mask][VALUE] += below[VALUE];
            }
        }
    }
    // 1 / (n · C(n − 1, s)); the binomials are exact integers in u64 and f64.
    let mut coefficient = Vec::with_capacity(n);
    let mut binomial: u64 = 1;
    for s in 0..n as u64 {
        coefficient.push(1.0 / (n as f64 * binomial as f64));
        binomial = binomial * (n as u64 - 1 - s) / (s + 1);
    }
    let mut phi = vec![[0.0; 2]; n];
    let mut by_size = vec![[0.0_f64; 2]; n];
    for (i, phi_i) in phi.iter_mut().enumerate() {
        let bit = 1_usize << i;
        by_size.fill([0.0; 2]);
        for mask in (0..size).filter(|mask| mask & bit == 0) {
            let s = mask.count_ones() as usize;
            let (with, without) = (v[mask | bit], v[mask]);
            by_size[s][COUNT] += with[COUNT] - without[COUNT];
            by_size[s][VALUE] += with[VALUE] - without[VALUE];
        }
        for (sum, c) in by_size.iter().zip(&coefficient) {
            phi_i[COUNT] += c * sum[COUNT];
            phi_i[VALUE] += c * sum[VALUE];
        }
    }
    phi
}

/// Monte-Carlo Shapley values (both layers) over `samples` seeded permutations.
fn shapley_sampled(n: usize, groups: &[Group], samples: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut member_of: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (g, group) in groups.iter().enumerate() {
        for &p in &group.members {
            member_of[p as usize].push(g as u32);
        }
    }
    let sizes: Vec<u32> = groups.iter().map(|g| g.members.len() as u32).collect();
    let mut missing = sizes.clone();
    let mut permutation: Vec<u32> = (0..n as u32).collect();
    let mut rng = SplitMix64::new(seed);
    let mut sums = vec![[0.0_f64; 2]; n];
    for _ in 0..samples {
        for i in (1..n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            permutation.swap(i, j);
        }
        missing.copy_from_slice(&sizes);
        for &p in &permutation {
            let sum = &mut sums[p as usize];
            for &g in &member_of[p as usize] {
                let left = &mut missing[g as usize];
                *left -= 1;
                if *left == 0 {
                    let weight = groups[g as usize].weight;
                    sum[COUNT] += weight[COUNT];
                    sum[VALUE] += weight[VALUE];
                }
            }
        }
    }
    let samples = samples as f64;
    sums.iter()
        .map(|s| [s[COUNT] / samples, s[VALUE] / samples])
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, well-mixed 64-bit
/// generator; plenty for sampling permutations, and fully deterministic.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`), by Lemire's multiply-and-reject.
    pub(super) fn below(&mut self, bound: u64) -> u64 {
        let mut product = u128::from(self.next_u64()) * u128::from(bound);
        if (product as u64) < bound {
            let threshold = bound.wrapping_neg() % bound;
            while (product as u64) < threshold {
                product = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (product >> 64) as u64
    }
}
