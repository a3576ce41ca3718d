use super::markov::Chain;
use super::shapley::SplitMix64;
use super::*;
use proptest::prelude::*;

fn journey(channels: &[&str], converted: bool, value: f64) -> Journey {
    Journey {
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        converted,
        value,
    }
}

fn credit<'a>(result: &'a DataDrivenResult, channel: &str) -> &'a ChannelCredit {
    result
        .channels
        .iter()
        .find(|c| c.channel == channel)
        .expect("channel in result")
}

#[track_caller]
fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-12,
        "{actual} != {expected} (diff {})",
        actual - expected
    );
}

/// `Σ_j value_j / |set_j|` over converted journeys containing each channel
/// (the closed form of the Shapley value of this game), per layer.
fn shapley_closed_form(journeys: &[Journey]) -> BTreeMap<String, [f64; 2]> {
    let mut phi = BTreeMap::new();
    for j in journeys.iter().filter(|j| j.converted) {
        let set: BTreeSet<&String> = j.channels.iter().collect();
        for c in &set {
            let entry = phi.entry((*c).clone()).or_insert([0.0; 2]);
            entry[0] += 1.0 / set.len() as f64;
            entry[1] += j.value / set.len() as f64;
        }
    }
    phi
}

fn sum_of(result: &DataDrivenResult, field: fn(&ChannelCredit) -> f64) -> f64 {
    result.channels.iter().map(field).sum()
}

fn loop_example() -> Vec<Journey> {
    vec![
        journey(&["A", "B"], true, 100.0),
        journey(&["A"], false, 0.0),
        journey(&["B"], true, 50.0),
        journey(&["A", "C"], false, 0.0),
        journey(&["C", "A", "B"], true, 150.0),
    ]
}

#[test]
fn markov_order1_hand_example() {
    // Transitions (counts):
    //   START → A 3 (j1, j2, j4), → B 1 (j3), → C 1 (j5)       total 5
    //   A → B 2 (j1, j5), → NULL 1 (j2), → C 1 (j4)             total 4
    //   B → CONVERSION 3 (j1, j3, j5)                           total 3
    //   C → NULL 1 (j4), → A 1 (j5)                             total 2
    // x_B = 1, x_A = (2 + x_C)/4, x_C = x_A/2 ⇒ x_A = 1/2 + x_A/8 ⇒ x_A = 4/7,
    // x_C = 2/7; P = (3·4/7 + 1 + 2/7)/5 = 3/5.
    // Without A: x_C = 0, P = 1/5, RE = 1 − (1/5)/(3/5) = 2/3.
    // Without B: P = 0, RE = 1.
    // Without C: x_A = 2/4 = 1/2, P = (3/2 + 1)/5 = 1/2, RE = 1 − 5/6 = 1/6.
    // Σ RE = 11/6: shares A 4/11, B 6/11, C 1/11; 3 conversions.
    let result = markov(&loop_example(), 1).expect("order 1");
    close(result.baseline, 3.0 / 5.0);
    close(result.total_conversions, 3.0);
    close(result.total_value, 300.0);
    assert!(result.exact);
    let names: Vec<&str> = result.channels.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(names, ["A", "B", "C"]);
    let (a, b, c) = (
        credit(&result, "A"),
        credit(&result, "B"),
        credit(&result, "C"),
    );
    close(a.score, 2.0 / 3.0);
    close(b.score, 1.0);
    close(c.score, 1.0 / 6.0);
    close(a.share, 4.0 / 11.0);
    close(b.share, 6.0 / 11.0);
    close(c.share, 1.0 / 11.0);
    close(a.conversions, 12.0 / 11.0);
    close(b.conversions, 18.0 / 11.0);
    close(c.conversions, 3.0 / 11.0);

    // Value chain: mean converted value v̄ = 300/3 = 100, so weights are
    // j1 100, j2 100 (v̄), j3 50, j4 100 (v̄), j5 150:
    //   START → A 300, → B 50, → C 150                          total 500
    //   A → B 250, → NULL 100, → C 100                          total 450
    //   B → CONVERSION 300
    //   C → NULL 100, → A 150                                   total 250
    // x_A = (250 + 100 x_C)/450, x_C = 3/5 x_A ⇒ x_A = 5/9 + 2/15 x_A
    // ⇒ x_A = 25/39, x_C = 5/13; P_v = (300·25/39 + 50 + 150·5/13)/500 = 3/5.
    // Without A: P = 50/500 = 1/10, RE_v = 1 − 1/6 = 5/6.
    // Without B: RE_v = 1.
    // Without C: x_A = 5/9, P = (500/3 + 50)/500 = 13/30, RE_v = 1 − 13/18 = 5/18.
    // Σ RE_v = 19/9: value shares A 15/38, B 18/38, C 5/38 of 300.
    let tolerance = 1e-12 * 300.0;
    assert!(
        (a.value - 300.0 * 15.0 / 38.0).abs() <= tolerance,
        "{}",
        a.value
    );
    assert!(
        (b.value - 300.0 * 18.0 / 38.0).abs() <= tolerance,
        "{}",
        b.value
    );
    assert!(
        (c.value - 300.0 * 5.0 / 38.0).abs() <= tolerance,
        "{}",
        c.value
    );
}

#[test]
fn markov_no_touch_journeys_change_baseline_not_shares() {
    // The loop example plus two no-touch conversions and one no-touch
    // non-conversion; these are in neither total.
    let mut journeys = loop_example();
    journeys.push(journey(&[], true, 1_000.0));
    journeys.push(journey(&[], false, 0.0));
    journeys.push(journey(&[], true, 1_000.0));
    // Now START → CONVERSION 2, → NULL 1 (total 8): P = (3 + 2)/8 = 5/8;
    // without A (1 + 2)/8 = 3/8, RE 2/5; without B 2/8, RE 3/5;
    // without C (3/2 + 1 + 2)/8 = 9/16, RE 1/10. Σ = 11/10: same shares.
    let result = markov(&journeys, 1).expect("order 1");
    close(result.baseline, 5.0 / 8.0);
    close(result.total_conversions, 3.0);
    close(result.total_value, 300.0);
    close(credit(&result, "A").score, 2.0 / 5.0);
    close(credit(&result, "B").score, 3.0 / 5.0);
    close(credit(&result, "C").score, 1.0 / 10.0);
    close(credit(&result, "A").share, 4.0 / 11.0);
    close(credit(&result, "B").share, 6.0 / 11.0);
    close(credit(&result, "C").share, 1.0 / 11.0);
    // Value: the no-touch journeys weigh 1000 and v̄ = 100; START's path
    // mass is scaled uniformly, so value shares stay 15/38, 18/38, 5/38.
    let tolerance = 1e-12 * 300.0;
    assert!((credit(&result, "A").value - 300.0 * 15.0 / 38.0).abs() <= tolerance);
    assert!((credit(&result, "C").value - 300.0 * 5.0 / 38.0).abs() <= tolerance);
}

#[test]
fn markov_orders_2_and_3_hand_example() {
    // j1 [A,B] conv, j2 [B,A] null, j3 [B,B] conv, j4 [A] null.
    //
    // Order 1 (self-loop B → B from j3):
    //   START → A 2, → B 2; A → B 1, → NULL 2; B → CONV 2, → A 1, → B 1.
    //   x_B = (2 + x_A)/3 (self-loop left out), x_A = x_B/3 ⇒ x_B = 3/4,
    //   x_A = 1/4, P = (2·1/4 + 2·3/4)/4 = 1/2.
    //   Without A: x_B = 2/3, P = 1/3, RE 1/3. Without B: P = 0, RE 1.
    //   Shares A 1/4, B 3/4.
    // Order 2 (states padded with START, written S):
    //   START → (S,A) 2, → (S,B) 2; (S,A) → (A,B) 1, → NULL 1;
    //   (S,B) → (B,A) 1, → (B,B) 1; (A,B) → CONV; (B,A) → NULL; (B,B) → CONV.
    //   x_(S,A) = 1/2, x_(S,B) = 1/2, P = 1/2.
    //   Without A ((S,A), (A,B), (B,A) → NULL): P = (0 + 2·1/2)/4 = 1/4, RE 1/2.
    //   Without B: every state but (S,A) → NULL, P = 0, RE 1.
    //   Shares A 1/3, B 2/3. Order 3 has the same shape: same numbers.
    let journeys = [
        journey(&["A", "B"], true, 1.0),
        journey(&["B", "A"], false, 0.0),
        journey(&["B", "B"], true, 1.0),
        journey(&["A"], false, 0.0),
    ];
    let first = markov(&journeys, 1).expect("order 1");
    close(first.baseline, 0.5);
    close(credit(&first, "A").score, 1.0 / 3.0);
    close(credit(&first, "B").score, 1.0);
    close(credit(&first, "A").share, 0.25);
    close(credit(&first, "B").share, 0.75);
    for order in [2, 3] {
        let result = markov(&journeys, order).expect("order 2 and 3");
        close(result.baseline, 0.5);
        close(credit(&result, "A").score, 0.5);
        close(credit(&result, "B").score, 1.0);
        close(credit(&result, "A").share, 1.0 / 3.0);
        close(credit(&result, "B").share, 2.0 / 3.0);
        close(credit(&result, "A").conversions, 2.0 / 3.0);
        close(credit(&result, "B").conversions, 4.0 / 3.0);
    }
}

#[test]
fn markov_order1_repeats_are_harmless_self_loops() {
    let with_repeats = [
        journey(&["A", "A", "B", "B", "B"], true, 3.0),
        journey(&["B", "B", "A"], false, 0.0),
        journey(&["A", "C", "C", "A"], true, 2.0),
        journey(&["C"], false, 0.0),
    ];
    let collapsed: Vec<Journey> = with_repeats
        .iter()
        .map(|j| {
            let mut channels = j.channels.clone();
            channels.dedup();
            Journey {
                channels,
                ..j.clone()
            }
        })
        .collect();
    let a = markov(&with_repeats, 1).expect("order 1");
    let b = markov(&collapsed, 1).expect("order 1");
    for (x, y) in a.channels.iter().zip(&b.channels) {
        close(x.score, y.score);
        close(x.share, y.share);
        close(x.value, y.value);
    }
    // At order 2 the repeats are states of their own, e.g. (A, A).
    let two = markov(&with_repeats, 2).expect("order 2");
    close(sum_of(&two, |c| c.share), 1.0);
}

/// A deterministic mixed bag of journeys over `channels` channels.
fn generated(count: usize, alphabet: usize, seed: u64) -> Vec<Journey> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|_| {
            let len = rng.below(5) as usize;
            let channels: Vec<String> = (0..len)
                .map(|_| format!("ch{:02}", rng.below(alphabet as u64)))
                .collect();
            let converted = rng.below(3) == 0;
            let value = (rng.below(10_000) as f64) / 7.0;
            Journey {
                channels,
                converted,
                value,
            }
        })
        .collect()
}

fn bits(result: &DataDrivenResult) -> Vec<u64> {
    let mut bits = vec![
        result.baseline.to_bits(),
        result.total_conversions.to_bits(),
        result.total_value.to_bits(),
    ];
    for c in &result.channels {
        bits.extend([
            c.score.to_bits(),
            c.share.to_bits(),
            c.conversions.to_bits(),
            c.value.to_bits(),
        ]);
    }
    bits
}

#[test]
fn markov_is_bit_reproducible_across_calls_and_input_orders() {
    let journeys = generated(400, 6, 7);
    let mut shuffled = journeys.clone();
    let mut rng = SplitMix64::new(99);
    for i in (1..shuffled.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        shuffled.swap(i, j);
    }
    let mut reversed = journeys.clone();
    reversed.reverse();
    for order in 1..=3 {
        let first = markov(&journeys, order).expect("valid");
        let again = markov(&journeys, order).expect("valid");
        assert_eq!(bits(&first), bits(&again), "order {order}: two calls");
        assert_eq!(first, again);
        let from_shuffled = markov(&shuffled, order).expect("valid");
        assert_eq!(
            bits(&first),
            bits(&from_shuffled),
            "order {order}: shuffled"
        );
        let from_reversed = markov(&reversed, order).expect("valid");
        assert_eq!(
            bits(&first),
            bits(&from_reversed),
            "order {order}: reversed"
        );
        assert!(first.channels.iter().any(|c| c.score > 0.0));
    }
}

#[test]
fn markov_divide_and_conquer_matches_one_solve_per_channel() {
    let journeys = generated(500, 7, 21);
    let names = channel_names(&journeys);
    let ids = channel_ids(&names);
    let mut paths: Vec<(Vec<u32>, bool, f64)> = journeys
        .iter()
        .map(|j| {
            let symbols = j.channels.iter().map(|c| ids[c.as_str()] + 1).collect();
            (
                symbols,
                j.converted,
                if j.converted { j.value } else { 0.0 },
            )
        })
        .collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
    for order in 1..=3 {
        let result = markov(&journeys, order).expect("valid");
        let mean_value = result.total_value / result.total_conversions;
        let chain = Chain::build(&paths, order, mean_value).expect("small chain");
        let keep_all = vec![false; chain.keys.len()];
        for layer in [COUNT, VALUE] {
            let p = chain.conversion_probability(layer, &keep_all);
            if layer == COUNT {
                assert_eq!(p.to_bits(), result.baseline.to_bits());
            }
            let direct: Vec<f64> = (1..=names.len() as u32)
                .map(|symbol| {
                    let removed: Vec<bool> = chain
                        .keys
                        .iter()
                        .map(|key| key[..order].contains(&symbol))
                        .collect();
                    1.0 - chain.conversion_probability(layer, &removed) / p
                })
                .collect();
            let direct_shares = normalise(&direct);
            for (i, credit) in result.channels.iter().enumerate() {
                let (actual, expected) = if layer == COUNT {
                    assert!((credit.score - direct[i]).abs() <= 1e-12);
                    (credit.share, direct_shares[i])
                } else {
                    (credit.value / result.total_value, direct_shares[i])
                };
                assert!(
                    (actual - expected).abs() <= 1e-12,
                    "order {order}, layer {layer}, {}: {actual} vs {expected}",
                    credit.channel
                );
            }
        }
    }
}

#[test]
fn markov_higher_orders_shares_sum_to_one() {
    let journeys = generated(600, 8, 3);
    for order in 1..=3 {
        let result = markov(&journeys, order).expect("valid");
        assert!((sum_of(&result, |c| c.share) - 1.0).abs() <= 1e-12);
        let conversions = sum_of(&result, |c| c.conversions);
        assert!((conversions - result.total_conversions).abs() <= 1e-9);
        let value = sum_of(&result, |c| c.value);
        assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
        assert!(
            result
                .channels
                .iter()
                .all(|c| c.score >= 0.0 && c.score <= 1.0)
        );
        assert!(result.baseline > 0.0 && result.baseline < 1.0);
    }
}

#[test]
fn markov_rejects_order_out_of_range() {
    let journeys = [journey(&["A"], true, 1.0)];
    assert_eq!(
        markov(&journeys, 0),
        Err(DataDrivenError::OrderOutOfRange(0))
    );
    assert_eq!(
        markov(&journeys, 4),
        Err(DataDrivenError::OrderOutOfRange(4))
    );
    assert_eq!(
        DataDrivenError::OrderOutOfRange(4).to_string(),
        "Markov order 4 is out of range (1..=3)"
    );
}

#[test]
fn markov_rejects_too_many_states() {
    // Every trigram over 15 channels: 15 + 15² + 15³ = 3615 order-3 states.
    let names: Vec<String> = (0..15).map(|i| format!("c{i:02}")).collect();
    let mut journeys = Vec::new();
    for a in &names {
        for b in &names {
            for c in &names {
                journeys.push(Journey {
                    channels: vec![a.clone(), b.clone(), c.clone()],
                    converted: true,
                    value: 1.0,
                });
            }
        }
    }
    assert_eq!(
        markov(&journeys, 3),
        Err(DataDrivenError::TooManyStates {
            states: 3615,
            limit: MAX_MARKOV_STATES
        })
    );
    // Order 1 has 15 states and credits each channel equally (by symmetry).
    let first = markov(&journeys, 1).expect("order 1");
    for c in &first.channels {
        assert!((c.share - 1.0 / 15.0).abs() <= 1e-12);
    }
}

#[test]
fn markov_rejects_invalid_values() {
    let journeys = [
        journey(&["A"], false, f64::NAN), // not converted: ignored
        journey(&["A"], true, -1.0),
    ];
    assert_eq!(
        markov(&journeys, 1),
        Err(DataDrivenError::InvalidValue {
            journey: 1,
            value: -1.0
        })
    );
    let nan = [journey(&["A"], true, f64::NAN)];
    assert!(matches!(
        markov(&nan, 1),
        Err(DataDrivenError::InvalidValue { journey: 0, .. })
    ));
    let fine = [journey(&["A"], false, f64::NAN), journey(&["A"], true, 0.0)];
    assert!(markov(&fine, 1).is_ok());
}

#[test]
fn markov_equal_values_split_value_like_conversions() {
    let mut journeys = generated(300, 5, 11);
    for j in &mut journeys {
        j.value = 250.0;
    }
    for order in 1..=3 {
        let result = markov(&journeys, order).expect("valid");
        for c in &result.channels {
            let expected = result.total_value * c.share;
            assert!((c.value - expected).abs() <= 1e-12 * result.total_value);
        }
    }
}

#[test]
fn markov_without_conversions_credits_nothing() {
    let journeys = [journey(&["A", "B"], false, 0.0), journey(&[], true, 5.0)];
    let result = markov(&journeys, 2).expect("valid");
    assert_eq!(result.total_conversions, 0.0);
    assert_eq!(result.baseline, 0.5); // the no-touch conversion
    assert!(
        result
            .channels
            .iter()
            .all(|c| c.score == 0.0 && c.share == 0.0)
    );
    let empty = markov(&[], 1).expect("valid");
    assert!(empty.channels.is_empty());
    assert_eq!(empty.baseline, 0.0);
}

#[test]
fn shapley_exact_hand_example() {
    // Converted sets: {A} ×2, {A,B}, {B,C}, {A,B,C}; plus a non-converted
    // {C} and a no-touch conversion, both ignored.
    // v: ∅ 0, A 2, B 0, C 0, AB 3, AC 2, BC 1, ABC 5.
    // Weights for n = 3: |S| = 0 → 1/3, 1 → 1/6, 2 → 1/3.
    // φ_A = 1/3·2 + 1/6·(3 − 0) + 1/6·(2 − 0) + 1/3·(5 − 1) = 17/6
    // φ_B = 1/3·0 + 1/6·(3 − 2) + 1/6·(1 − 0) + 1/3·(5 − 2) = 8/6
    // φ_C = 1/3·0 + 1/6·(2 − 2) + 1/6·(1 − 0) + 1/3·(5 − 3) = 5/6
    // Σ = 30/6 = 5 = v(ABC). Values: {A} 10 and 20, {A,B} 30, {B,C} 60,
    // {A,B,C} 90: φ_A = 30 + 15 + 30 = 75, φ_B = 15 + 30 + 30 = 75, φ_C = 30 + 30 = 60.
    let journeys = [
        journey(&["A"], true, 10.0),
        journey(&["A", "A"], true, 20.0),
        journey(&["B", "A"], true, 30.0),
        journey(&["C", "B"], true, 60.0),
        journey(&["A", "C", "B"], true, 90.0),
        journey(&["C"], false, 0.0),
        journey(&[], true, 1_000.0),
    ];
    let result = shapley(&journeys, &ShapleyOptions::default());
    assert!(result.exact);
    close(result.total_conversions, 5.0);
    close(result.baseline, 5.0);
    close(result.total_value, 210.0);
    let (a, b, c) = (
        credit(&result, "A"),
        credit(&result, "B"),
        credit(&result, "C"),
    );
    close(a.score, 17.0 / 6.0);
    close(b.score, 8.0 / 6.0);
    close(c.score, 5.0 / 6.0);
    close(a.conversions, 17.0 / 6.0);
    close(a.share, 17.0 / 30.0);
    close(b.share, 8.0 / 30.0);
    close(c.share, 5.0 / 30.0);
    close(sum_of(&result, |c| c.score), 5.0);
    assert!((a.value - 75.0).abs() <= 1e-12 * 210.0);
    assert!((b.value - 75.0).abs() <= 1e-12 * 210.0);
    assert!((c.value - 60.0).abs() <= 1e-12 * 210.0);
}

/// Journeys over `n` channels `p00 …`, each channel in some conversion.
fn many_channels(n: usize) -> Vec<Journey> {
    let name = |i: usize| format!("p{:02}", i % n);
    let mut journeys = Vec::new();
    for i in 0..n {
        journeys.push(Journey {
            channels: vec![name(i), name(i + 1), name(i + 3)],
            converted: true,
            value: 10.0 + i as f64,
        });
        journeys.push(Journey {
            channels: vec![name(i)],
            converted: i % 2 == 0,
            value: 5.0,
        });
        journeys.push(Journey {
            channels: vec![name(i), name(i + 5)],
            converted: i % 3 != 0,
            value: 1.5 * i as f64,
        });
    }
    journeys
}

#[test]
fn shapley_15_channels_exact_and_fast() {
    let journeys = many_channels(15);
    let started = std::time::Instant::now();
    let result = shapley(&journeys, &ShapleyOptions::default());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(result.exact);
    assert_eq!(result.channels.len(), 15);
    let total = sum_of(&result, |c| c.score);
    assert!((total - result.baseline).abs() <= 1e-9 * result.baseline);
    let value = sum_of(&result, |c| c.value);
    assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
    let oracle = shapley_closed_form(&journeys);
    for c in &result.channels {
        let [count, value] = oracle[&c.channel];
        assert!((c.score - count).abs() <= 1e-9, "{}", c.channel);
        assert!((c.value - value).abs() <= 1e-9 * result.total_value);
    }
}

#[test]
fn shapley_18_channels_sampled_reproducible_and_efficient() {
    let journeys = many_channels(18);
    let options = ShapleyOptions::default();
    let result = shapley(&journeys, &options);
    assert!(!result.exact);
    assert_eq!(result.channels.len(), 18);
    let again = shapley(&journeys, &options);
    assert_eq!(bits(&result), bits(&again));
    let mut reversed = journeys.clone();
    reversed.reverse();
    assert_eq!(bits(&result), bits(&shapley(&reversed, &options)));

    let total = sum_of(&result, |c| c.score);
    assert!((total - result.baseline).abs() <= 1e-9 * result.baseline);
    let value = sum_of(&result, |c| c.value);
    assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
    close(sum_of(&result, |c| c.share), 1.0);

    // Close to the exact values: per permutation each channel's credit has a
    // standard deviation below 2, so 20 000 samples give errors ≈ 0.015.
    let oracle = shapley_closed_form(&journeys);
    for c in &result.channels {
        let [count, _] = oracle[&c.channel];
        assert!(
            (c.score - count).abs() <= 0.15,
            "{}: {} vs {count}",
            c.channel,
            c.score
        );
    }
    let other_seed = shapley(
        &journeys,
        &ShapleyOptions {
            seed: 7,
            ..options.clone()
        },
    );
    assert_ne!(bits(&result), bits(&other_seed));
    // Raising the exact limit makes it exact again.
    let exact = shapley(
        &journeys,
        &ShapleyOptions {
            exact_max_channels: 18,
            ..options
        },
    );
    assert!(exact.exact);
    for c in &exact.channels {
        assert!((c.score - oracle[&c.channel][0]).abs() <= 1e-9);
    }
}

#[test]
fn single_channel_world_gets_everything() {
    let journeys = [
        journey(&["only"], true, 10.0),
        journey(&["only", "only"], false, 0.0),
        journey(&["only", "only", "only"], true, 30.0),
        journey(&[], true, 99.0),
    ];
    // Every order: the channel states convert with probability 2/3 (order 1:
    // only → CONV 2, → NULL 1, self-loops left out), START → only 3/4,
    // → CONV 1/4: P = 3/4 · 2/3 + 1/4 = 3/4; without the channel only the
    // no-touch 1/4 is left, RE = 1 − (1/4)/(3/4) = 2/3. The share is still 1.
    for order in 1..=3 {
        let result = markov(&journeys, order).expect("valid");
        assert_eq!(result.channels.len(), 1);
        let only = &result.channels[0];
        close(result.baseline, 0.75);
        close(only.score, 2.0 / 3.0);
        assert_eq!(only.share, 1.0);
        assert_eq!(only.conversions, 2.0);
        assert_eq!(only.value, 40.0);
    }
    let result = shapley(&journeys, &ShapleyOptions::default());
    let only = &result.channels[0];
    assert_eq!((only.score, only.share, only.value), (2.0, 1.0, 40.0));
}

#[test]
fn shapley_without_conversions_credits_nothing() {
    let journeys = [journey(&["A", "B"], false, 0.0), journey(&[], true, 5.0)];
    let result = shapley(&journeys, &ShapleyOptions::default());
    assert_eq!(result.baseline, 0.0);
    assert_eq!(result.channels.len(), 2);
    assert!(
        result
            .channels
            .iter()
            .all(|c| c.score == 0.0 && c.share == 0.0)
    );
    let sampled = shapley(
        &journeys,
        &ShapleyOptions {
            exact_max_channels: 0,
            ..ShapleyOptions::default()
        },
    );
    assert!(sampled.channels.iter().all(|c| c.score == 0.0));
}

#[test]
fn doc_example_holds() {
    let journeys = [
        journey(&["search", "email"], true, 300.0),
        journey(&["search"], false, 0.0),
        journey(&["email"], true, 100.0),
    ];
    let by_markov = markov(&journeys, 1).expect("order 1 is supported");
    assert_eq!(by_markov.channels[0].channel, "email");
    close(by_markov.baseline, 2.0 / 3.0);
    close(by_markov.channels[0].share, 2.0 / 3.0);
    close(by_markov.channels[1].share, 1.0 / 3.0);
    close(by_markov.channels[0].conversions, 4.0 / 3.0);
    let by_shapley = shapley(&journeys, &ShapleyOptions::default());
    assert!(by_shapley.exact);
    close(by_shapley.channels[0].conversions, 1.5);
    close(by_shapley.channels[1].conversions, 0.5);
    assert!((by_shapley.channels[0].value - 250.0).abs() < 1e-9);
    assert!((by_shapley.channels[1].value - 150.0).abs() < 1e-9);
}

#[test]
fn splitmix_is_the_reference_sequence() {
    // First outputs of SplitMix64 seeded with 0 (reference implementation).
    let mut rng = SplitMix64::new(0);
    assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    let mut rng = SplitMix64::new(1);
    assert!((0..1_000).all(|_| rng.below(7) < 7));
}

fn journeys_strategy() -> impl Strategy<Value = Vec<Journey>> {
    let one = (
        prop::collection::vec(0_u8..4, 0..6),
        any::<bool>(),
        1_u32..10_000,
    )
        .prop_map(|(channels, converted, value)| Journey {
            channels: channels
                .into_iter()
                .map(|c| char::from(b'a' + c).to_string())
                .collect(),
            converted,
            value: f64::from(value) / 10.0,
        });
    prop::collection::vec(one, 1..14)
}

fn converts_through_a_channel(journeys: &[Journey]) -> bool {
    journeys
        .iter()
        .any(|j| j.converted && !j.channels.is_empty())
}

proptest! {
    #[test]
    fn markov_shares_sum_to_one(journeys in journeys_strategy()) {
        prop_assume!(converts_through_a_channel(&journeys));
        for order in 1..=3 {
            let result = markov(&journeys, order).expect("valid");
            prop_assert!((sum_of(&result, |c| c.share) - 1.0).abs() <= 1e-12);
            let value = sum_of(&result, |c| c.value);
            prop_assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
            prop_assert!(result.channels.iter().all(|c| c.score >= 0.0 && c.share >= 0.0));
        }
    }

    #[test]
    fn shapley_shares_sum_to_one_and_scores_are_non_negative(
        journeys in journeys_strategy()
    ) {
        prop_assume!(converts_through_a_channel(&journeys));
        let exact = shapley(&journeys, &ShapleyOptions::default());
        prop_assert!(exact.exact);
        let sampled = shapley(&journeys, &ShapleyOptions {
            exact_max_channels: 0,
            samples: 50,
            seed: 1,
        });
        prop_assert!(!sampled.exact);
        for result in [&exact, &sampled] {
            prop_assert!((sum_of(result, |c| c.share) - 1.0).abs() <= 1e-12);
            prop_assert!(result.channels.iter().all(|c| c.score >= 0.0 && c.value >= 0.0));
            let total = sum_of(result, |c| c.score);
            prop_assert!((total - result.baseline).abs() <= 1e-9 * result.baseline);
        }
        let oracle = shapley_closed_form(&journeys);
        for c in &exact.channels {
            let [count, value] = oracle.get(&c.channel).copied().unwrap_or([0.0; 2]);
            prop_assert!((c.score - count).abs() <= 1e-9);
            prop_assert!((c.value - value).abs() <= 1e-9 * exact.total_value);
        }
    }
}

/// The worked example of `markov`'s documentation: ChannelAttribution's value
/// rule, each conversion worth the mean value of its last channel.
#[test]
fn markov_value_as_channel_attribution_gives_it() {
    let journeys = [
        journey(&["A", "B"], true, 300.0),
        journey(&["A"], true, 100.0),
        journey(&["B"], false, 0.0),
    ];
    let ca = markov_with(&journeys, 1, MarkovValue::LastChannelMean)
        .expect("order 1 and 2 are supported");
    let value = |r: &DataDrivenResult, c: &str| credit(r, c).value;
    assert!(
        (value(&ca, "A") - 400.0 * 5.0 / 11.0).abs() < 1e-9,
        "{ca:?}"
    );
    assert!(
        (value(&ca, "B") - 400.0 * 6.0 / 11.0).abs() < 1e-9,
        "{ca:?}"
    );
    // Conversions are shared alike in both rules; value is not.
    let by_journey = markov(&journeys, 1).expect("order 1 and 2 are supported");
    for (a, b) in ca.channels.iter().zip(&by_journey.channels) {
        assert_eq!(a.share, b.share);
    }
    assert!((value(&by_journey, "A") - value(&ca, "A")).abs() > 1.0);
    // With one value for every conversion, the two rules agree.
    let same: Vec<Journey> = journeys
        .iter()
        .map(|j| Journey {
            value: if j.converted { 100.0 } else { 0.0 },
            ..j.clone()
        })
        .collect();
    let (a, b) = (
        markov_with(&same, 2, MarkovValue::LastChannelMean).expect("order 1 and 2 are supported"),
        markov(&same, 2).expect("order 1 and 2 are supported"),
    );
    for (x, y) in a.channels.iter().zip(&b.channels) {
        assert!((x.value - y.value).abs() < 1e-9, "{a:?} {b:?}");
    }
}
