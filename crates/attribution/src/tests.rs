use expect_test::{Expect, expect};
use proptest::prelude::*;
use touchline_core::{Money, Timestamp, TouchOrigin, TouchStatus, TouchType};

use super::*;

const DAY: i64 = 86_400_000;

/// `spec` is `event_id@day:campaign[!]` separated by spaces (`!` marks a touch that
/// was only sent); the conversion is at `at` (ms) with `value` minor units (or a
/// count when `None`).
fn parse(spec: &str, unit: i64) -> Vec<TouchPoint> {
    spec.split_whitespace()
        .map(|item| {
            let (id, rest) = item.split_once('@').expect("id@time:campaign");
            let (at, campaign) = rest.split_once(':').expect("time:campaign");
            let (campaign, status) = match campaign.strip_suffix('!') {
                Some(c) => (c, TouchStatus::Sent),
                None => (campaign, TouchStatus::Responded),
            };
            TouchPoint {
                event_id: id.into(),
                occurred_at: Timestamp::from_millis(at.parse::<i64>().expect("time") * unit),
                campaign_id: campaign.into(),
                touch_type: TouchType::EmailClick,
                status,
                origin: TouchOrigin::Recorded,
            }
        })
        .collect()
}

fn conversion(
    kind: ConversionKind,
    at: i64,
    value: Option<i64>,
    milestones: Milestones,
) -> Conversion {
    Conversion {
        id: kind.conversion_id("o"),
        kind,
        subject_id: "o".into(),
        occurred_at: Timestamp::from_millis(at),
        value: value.map(|v| Money::new(v, "USD")),
        milestones,
    }
}

fn render(result: &Attribution) -> String {
    let mut out = String::new();
    for c in &result.credits {
        out.push_str(&format!(
            "{} {} w={} amount={:?}\n",
            c.campaign_id,
            c.touch_event_id.as_deref().unwrap_or("-"),
            c.weight,
            c.amount_minor
        ));
    }
    if let Some(reason) = result.unattributed {
        out.push_str(&format!("unattributed: {reason:?}\n"));
    }
    out
}

fn check(model: Model, spec: &str, at: i64, value: Option<i64>, expect: Expect) {
    let touches = parse(spec, 1);
    let conversion = conversion(
        ConversionKind::OpportunityCreated,
        at,
        value,
        Milestones::default(),
    );
    expect.assert_eq(&render(&attribute(
        model,
        &conversion,
        &touches,
        &AttributionSettings::default(),
    )));
}

// ---------------------------------------------------------------------------
// Golden tests on one path of six eligible touches with repeated channels.
//
//   t1 day 1 search     (first touch)
//   t2 day 2 email
//   t3 day 3 search     (search again)
//   t4 day 5 webinar    (the lead is created on day 5: the lead-creation touch)
//   t5 day 7 email      (email again)
//   t6 day 9 events     (the opportunity is created on day 10: the opportunity-creation touch)
//   t7 day 12 late      (after the conversion on day 10: excluded)
//
// The conversion is the opportunity, created on day 10, worth 100000 cents.
// ---------------------------------------------------------------------------

const PATH: &str =
    "t1@1:search t2@2:email t3@3:search t4@5:webinar t5@7:email t6@9:events t7@12:late";

fn golden(
    model: Model,
    kind: ConversionKind,
    at_day: i64,
    closed_won_day: Option<i64>,
    expect: Expect,
) {
    let touches = parse(PATH, DAY);
    let milestones = Milestones {
        lead_created: Some(Timestamp::from_millis(5 * DAY)),
        opportunity_created: Some(Timestamp::from_millis(10 * DAY)),
        closed_won: closed_won_day.map(|d| Timestamp::from_millis(d * DAY)),
    };
    let conversion = conversion(kind, at_day * DAY, Some(100_000), milestones);
    let result = attribute(
        model,
        &conversion,
        &touches,
        &AttributionSettings::default(),
    );
    let total: i64 = result.credits.iter().filter_map(|c| c.amount_minor).sum();
    assert_eq!(total, 100_000, "cents are never lost");
    expect.assert_eq(&render(&result));
}

#[test]
fn golden_first_and_last_touch() {
    let opp = ConversionKind::OpportunityCreated;
    golden(
        Model::FirstTouch,
        opp,
        10,
        None,
        expect![[r#"
        search t1 w=1 amount=Some(100000)
    "#]],
    );
    // t7 (day 12) is after the conversion; t6 is the last touch.
    golden(
        Model::LastTouch,
        opp,
        10,
        None,
        expect![[r#"
        events t6 w=1 amount=Some(100000)
    "#]],
    );
}

#[test]
fn golden_linear() {
    // 100000 / 6 = 16666.67 each: floors sum to 99996, the 4 cents left go to the
    // equal remainders in order, t1..t4. Search gets 33334 over two touches.
    golden(
        Model::Linear,
        ConversionKind::OpportunityCreated,
        10,
        None,
        expect![[r#"
        search t1 w=0.16666666666666666 amount=Some(16667)
        email t2 w=0.16666666666666666 amount=Some(16667)
        search t3 w=0.16666666666666666 amount=Some(16667)
        webinar t4 w=0.16666666666666666 amount=Some(16667)
        email t5 w=0.16666666666666666 amount=Some(16666)
        events t6 w=0.16666666666666666 amount=Some(16666)
    "#]],
    );
}

#[test]
fn golden_position_family() {
    let opp = ConversionKind::OpportunityCreated;
    // U: 40 first, 40 last, 20 / 4 = 5 for each of t2..t5.
    golden(
        Model::UShaped,
        opp,
        10,
        None,
        expect![[r#"
        search t1 w=0.4 amount=Some(40000)
        email t2 w=0.05 amount=Some(5000)
        search t3 w=0.05 amount=Some(5000)
        webinar t4 w=0.05 amount=Some(5000)
        email t5 w=0.05 amount=Some(5000)
        events t6 w=0.4 amount=Some(40000)
    "#]],
    );
    // J: 20 first, 60 last, 5 each in between.
    golden(
        Model::JShaped,
        opp,
        10,
        None,
        expect![[r#"
        search t1 w=0.2 amount=Some(20000)
        email t2 w=0.05 amount=Some(5000)
        search t3 w=0.05 amount=Some(5000)
        webinar t4 w=0.05 amount=Some(5000)
        email t5 w=0.05 amount=Some(5000)
        events t6 w=0.6 amount=Some(60000)
    "#]],
    );
    // Inverse J: 60 first, 20 last, 5 each in between.
    golden(
        Model::InverseJ,
        opp,
        10,
        None,
        expect![[r#"
        search t1 w=0.6 amount=Some(60000)
        email t2 w=0.05 amount=Some(5000)
        search t3 w=0.05 amount=Some(5000)
        webinar t4 w=0.05 amount=Some(5000)
        email t5 w=0.05 amount=Some(5000)
        events t6 w=0.2 amount=Some(20000)
    "#]],
    );
    // Custom, default 30/30/40: 40 / 4 = 10 each in between.
    golden(
        Model::Custom,
        opp,
        10,
        None,
        expect![[r#"
        search t1 w=0.3 amount=Some(30000)
        email t2 w=0.1 amount=Some(10000)
        search t3 w=0.1 amount=Some(10000)
        webinar t4 w=0.1 amount=Some(10000)
        email t5 w=0.1 amount=Some(10000)
        events t6 w=0.3 amount=Some(30000)
    "#]],
    );
}

#[test]
fn golden_w_shaped() {
    // Slots: first t1, lead creation t4 (last touch on or before day 5), opportunity
    // creation t6 (last on or before day 10): 30% each. The 10% rest goes to t2, t3,
    // t5: 3.33% each = 3333.33 cents; floors total 99999, the cent left goes to the
    // first of the equal remainders, t2.
    golden(
        Model::WShaped,
        ConversionKind::OpportunityCreated,
        10,
        None,
        expect![[r#"
        search t1 w=0.3 amount=Some(30000)
        email t2 w=0.03333333333333333 amount=Some(3334)
        search t3 w=0.03333333333333333 amount=Some(3333)
        webinar t4 w=0.3 amount=Some(30000)
        email t5 w=0.03333333333333333 amount=Some(3333)
        events t6 w=0.3 amount=Some(30000)
    "#]],
    );
}

#[test]
fn golden_full_path() {
    // Won on day 12: all four slots exist (t1 first, t4 lead, t6 opportunity, t7
    // closed-won, now eligible), 22.5% each; t2, t3, t5 share 10%: 3333.33 cents,
    // the spare cent to t2.
    golden(
        Model::FullPath,
        ConversionKind::OpportunityWon,
        12,
        Some(12),
        expect![[r#"
        search t1 w=0.225 amount=Some(22500)
        email t2 w=0.03333333333333333 amount=Some(3334)
        search t3 w=0.03333333333333333 amount=Some(3333)
        webinar t4 w=0.225 amount=Some(22500)
        email t5 w=0.03333333333333333 amount=Some(3333)
        events t6 w=0.225 amount=Some(22500)
        late t7 w=0.225 amount=Some(22500)
    "#]],
    );
    // At opportunity creation there is no closed-won touch yet: that slot is
    // missing, so 3 × 22.5 + 10 = 77.5 is normalised: slots 22.5/77.5 = 29.03%,
    // others (10/3)/77.5 = 4.30%. 29032.26 → 29032 (×3), 4301.08 → 4301 (×3): 99999;
    // the cent goes to the largest remainder (.26), the first slot t1.
    golden(
        Model::FullPath,
        ConversionKind::OpportunityCreated,
        10,
        None,
        expect![[r#"
        search t1 w=0.2903225806451613 amount=Some(29033)
        email t2 w=0.043010752688172046 amount=Some(4301)
        search t3 w=0.043010752688172046 amount=Some(4301)
        webinar t4 w=0.2903225806451613 amount=Some(29032)
        email t5 w=0.043010752688172046 amount=Some(4301)
        events t6 w=0.2903225806451613 amount=Some(29032)
    "#]],
    );
}

#[test]
fn golden_time_decay() {
    // Half-life 7 days, conversion on day 10; ages 9, 8, 7, 5, 3, 1 days:
    //   2^(-9/7) = 0.41017, 2^(-8/7) = 0.45286, 2^(-7/7) = 0.5,
    //   2^(-5/7) = 0.60951, 2^(-3/7) = 0.74300, 2^(-1/7) = 0.90572; sum 3.62126.
    // Shares 11.3267%, 12.5057%, 13.8074%, 16.8314%, 20.5177%, 25.0113% of 100000:
    // 11326.67, 12505.65, 13807.36, 16831.36, 20517.66, 25011.30 cents. Floors sum
    // to 99997; the 3 cents go to the largest remainders: .67 (t1), .66 (t5), .65 (t2).
    golden(
        Model::TimeDecay,
        ConversionKind::OpportunityCreated,
        10,
        None,
        expect![[r#"
        search t1 w=0.1132666533910503 amount=Some(11327)
        email t2 w=0.125056524257985 amount=Some(12506)
        search t3 w=0.13807359704973596 amount=Some(13807)
        webinar t4 w=0.1683136000887549 amount=Some(16831)
        email t5 w=0.20517657669650385 amount=Some(20518)
        events t6 w=0.25011304851597 amount=Some(25011)
    "#]],
    );
}

#[test]
fn two_touches_split_by_the_position_family_rules() {
    let touches = parse("a@1:x b@2:y", 1);
    let c = conversion(ConversionKind::LeadCreated, 5, None, Milestones::default());
    let weights = |m| {
        attribute(m, &c, &touches, &AttributionSettings::default())
            .credits
            .iter()
            .map(|c| c.weight)
            .collect::<Vec<_>>()
    };
    assert_eq!(weights(Model::UShaped), [0.5, 0.5]);
    assert_eq!(weights(Model::JShaped), [0.25, 0.75]);
    assert_eq!(weights(Model::InverseJ), [0.75, 0.25]);
}

#[test]
fn w_shaped_coinciding_and_missing_milestones() {
    // The first touch also created the lead: it holds two slots (60); the
    // opportunity milestone is unknown (missing): 60 + 10 rest over b, c = 70 total.
    let touches = parse("a@1:x b@2:y c@3:z", 1);
    let c = conversion(
        ConversionKind::LeadCreated,
        5,
        None,
        Milestones {
            lead_created: Some(Timestamp::from_millis(1)),
            ..Milestones::default()
        },
    );
    let result = attribute(
        Model::WShaped,
        &c,
        &touches,
        &AttributionSettings::default(),
    );
    let weights: Vec<f64> = result.credits.iter().map(|c| c.weight).collect();
    assert!((weights[0] - 60.0 / 70.0).abs() < 1e-12, "{weights:?}");
    assert!((weights[1] - 5.0 / 70.0).abs() < 1e-12, "{weights:?}");
    assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn same_instant_ties_break_on_event_id() {
    check(
        Model::FirstTouch,
        "b@10:second a@10:first",
        10,
        None,
        expect![[r#"
        first a w=1 amount=None
    "#]],
    );
    check(
        Model::LastTouch,
        "b@10:second a@10:first",
        10,
        None,
        expect![[r#"
        second b w=1 amount=None
    "#]],
    );
}

#[test]
fn no_touch_goes_to_the_explicit_bucket_with_a_reason() {
    check(
        Model::Linear,
        "",
        10,
        Some(900),
        expect![[r#"
        (no touch) - w=1 amount=Some(900)
        unattributed: NoTouches
    "#]],
    );
    check(
        Model::LastTouch,
        "late@11:search",
        10,
        None,
        expect![[r#"
        (no touch) - w=1 amount=None
        unattributed: AllAfterConversion
    "#]],
    );
}

#[test]
fn lookback_window_and_responded_filter() {
    let touches = parse("old@1:fair sent@8:mail! hot@9:demo", DAY);
    let c = conversion(
        ConversionKind::OpportunityCreated,
        10 * DAY,
        Some(100),
        Milestones::default(),
    );
    let windowed = AttributionSettings {
        lookback_days: Lookback {
            opportunity_created: Some(5),
            ..Lookback::default()
        },
        ..AttributionSettings::default()
    };
    // Day 1 is more than 5 days before day 10: out of the window.
    let first = attribute(Model::FirstTouch, &c, &touches, &windowed);
    assert_eq!(first.credits[0].campaign_id, "mail");
    let responded = AttributionSettings {
        filter: TouchFilter::Responded,
        ..windowed.clone()
    };
    assert_eq!(
        attribute(Model::FirstTouch, &c, &touches, &responded).credits[0].campaign_id,
        "demo"
    );
    // A window that holds no touch, and a filter that passes none, say so.
    let narrow = AttributionSettings {
        lookback_days: Lookback {
            opportunity_created: Some(0),
            ..Lookback::default()
        },
        ..AttributionSettings::default()
    };
    assert_eq!(
        attribute(Model::Linear, &c, &touches, &narrow).unattributed,
        Some(Unattributed::AllOutsideWindow)
    );
    let only_sent = parse("sent@8:mail!", DAY);
    assert_eq!(
        attribute(Model::Linear, &c, &only_sent, &responded).unattributed,
        Some(Unattributed::NoneMatchFilter)
    );
}

#[test]
fn excluded_synthesized_touches_are_not_credited() {
    // `legacy` was synthesized from a lead-source field; `mail` and `demo`
    // were recorded.
    let mut touches = parse("legacy@1:fair mail@8:mail demo@9:demo", DAY);
    touches[0].origin = TouchOrigin::Synthesized;
    let c = conversion(
        ConversionKind::OpportunityCreated,
        10 * DAY,
        Some(90),
        Milestones::default(),
    );
    let include = AttributionSettings::default();
    let exclude = AttributionSettings {
        synthesized_touches: SynthesizedTouches::Exclude,
        ..AttributionSettings::default()
    };
    let first = |s: &AttributionSettings| attribute(Model::FirstTouch, &c, &touches, s);
    assert_eq!(first(&include).credits[0].campaign_id, "fair");
    assert_eq!(first(&exclude).credits[0].campaign_id, "mail");
    let linear = |s: &AttributionSettings| -> Vec<(String, Option<i64>)> {
        attribute(Model::Linear, &c, &touches, s)
            .credits
            .into_iter()
            .map(|c| (c.campaign_id, c.amount_minor))
            .collect()
    };
    assert_eq!(
        linear(&include),
        [
            ("fair".to_owned(), Some(30)),
            ("mail".to_owned(), Some(30)),
            ("demo".to_owned(), Some(30))
        ]
    );
    assert_eq!(
        linear(&exclude),
        [("mail".to_owned(), Some(45)), ("demo".to_owned(), Some(45))]
    );
    // Only synthesized touches, excluded: none passes the filter.
    let only = &touches[..1];
    assert_eq!(
        attribute(Model::Linear, &c, only, &exclude).unattributed,
        Some(Unattributed::NoneMatchFilter)
    );
}

#[test]
fn apportion_breaks_equal_remainders_towards_earlier_parts() {
    assert_eq!(apportion(2, &[0.25; 4]), vec![1, 1, 0, 0]);
    assert_eq!(apportion(10, &[0.7, 0.2, 0.1]), vec![7, 2, 1]);
    assert_eq!(apportion(0, &[0.5, 0.5]), vec![0, 0]);
    assert_eq!(
        apportion(i64::MAX, &[0.5, 0.5]).iter().sum::<i64>(),
        i64::MAX
    );
}

fn touches_strategy() -> impl Strategy<Value = Vec<TouchPoint>> {
    prop::collection::vec(
        (0i64..50, 0u8..5, 0u32..1000, any::<bool>(), any::<bool>()),
        0..20,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(
                |(i, (at, campaign, salt, responded, synthesized))| TouchPoint {
                    event_id: format!("e{salt:04}-{i}"),
                    occurred_at: Timestamp::from_millis(at * DAY / 4),
                    campaign_id: format!("c{campaign}"),
                    touch_type: TouchType::WebVisit,
                    status: if responded {
                        TouchStatus::Responded
                    } else {
                        TouchStatus::Sent
                    },
                    origin: if synthesized {
                        TouchOrigin::Synthesized
                    } else {
                        TouchOrigin::Recorded
                    },
                },
            )
            .collect()
    })
}

fn milestones_strategy() -> impl Strategy<Value = Milestones> {
    let moment = prop::option::of((0i64..60).prop_map(|q| Timestamp::from_millis(q * DAY / 4)));
    (moment.clone(), moment.clone(), moment).prop_map(
        |(lead_created, opportunity_created, closed_won)| Milestones {
            lead_created,
            opportunity_created,
            closed_won,
        },
    )
}

fn settings_strategy() -> impl Strategy<Value = AttributionSettings> {
    (
        prop::option::of(0u32..15),
        any::<bool>(),
        0.5f64..30.0,
        any::<bool>(),
    )
        .prop_map(
            |(lookback, responded, half_life, exclude)| AttributionSettings {
                params: ModelParams {
                    time_decay_half_life_days: half_life,
                    ..ModelParams::default()
                },
                filter: if responded {
                    TouchFilter::Responded
                } else {
                    TouchFilter::All
                },
                opportunity_touches: OpportunityTouches::ContactRoles,
                synthesized_touches: if exclude {
                    SynthesizedTouches::Exclude
                } else {
                    SynthesizedTouches::Include
                },
                markov_value: Default::default(),
                lookback_days: Lookback {
                    opportunity_created: lookback,
                    ..Lookback::default()
                },
            },
        )
}

proptest! {
    #[test]
    fn apportion_sums_exactly(total in -1_000_000_000_000i64..1_000_000_000_000, raw in prop::collection::vec(0.0f64..1.0, 1..30)) {
        let parts = apportion(total, &raw);
        prop_assert_eq!(parts.iter().sum::<i64>(), total);
        for (part, w) in parts.iter().zip(&raw) {
            if *w == 0.0 { prop_assert_eq!(*part, 0); }
        }
    }

    #[test]
    fn every_model_sums_exactly_and_weights_to_one(
        touches in touches_strategy(),
        at in 0i64..60,
        value in 0i64..10_000_000,
        milestones in milestones_strategy(),
        settings in settings_strategy(),
    ) {
        let c = conversion(ConversionKind::OpportunityCreated, at * DAY / 4, Some(value), milestones);
        for model in Model::ALL {
            let result = attribute(model, &c, &touches, &settings);
            let amount: i64 = result.credits.iter().map(|c| c.amount_minor.unwrap_or(0)).sum();
            prop_assert_eq!(amount, value, "{:?}", model);
            let weight: f64 = result.credits.iter().map(|c| c.weight).sum();
            prop_assert!((weight - 1.0).abs() < 1e-12, "{:?} sums to {}", model, weight);
            prop_assert!(result.credits.iter().all(|c| c.weight >= 0.0 && c.amount_minor.unwrap_or(0) >= 0));
        }
    }

    #[test]
    fn arrival_order_does_not_matter(touches in touches_strategy(), at in 0i64..60, milestones in milestones_strategy(), seed in any::<u64>()) {
        let mut shuffled = touches.clone();
        // A deterministic shuffle driven by the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        let c = conversion(ConversionKind::OpportunityCreated, at * DAY / 4, Some(1_000), milestones);
        for model in Model::ALL {
            let settings = AttributionSettings::default();
            prop_assert_eq!(attribute(model, &c, &touches, &settings), attribute(model, &c, &shuffled, &settings));
        }
    }

    #[test]
    fn every_model_at_once_is_each_model_alone(
        touches in touches_strategy(),
        at in 0i64..60,
        value in 0i64..10_000_000,
        milestones in milestones_strategy(),
        settings in settings_strategy(),
    ) {
        let c = conversion(ConversionKind::OpportunityCreated, at * DAY / 4, Some(value), milestones);
        let together = crate::attribute_all(&Model::ALL, &c, &touches, &settings);
        prop_assert_eq!(together.len(), Model::ALL.len());
        for (model, attribution) in together {
            let alone = crate::attribute_all(&[model], &c, &touches, &settings);
            prop_assert_eq!(&alone[0].1, &attribution, "{:?}", model);
        }
    }

    #[test]
    fn a_single_touch_gets_everything(at in 0i64..50, value in 0i64..1_000_000, milestones in milestones_strategy()) {
        let touches = parse(&format!("only@{at}:solo"), 1);
        let c = conversion(ConversionKind::OpportunityCreated, at, Some(value), milestones);
        for model in Model::ALL {
            let result = attribute(model, &c, &touches, &AttributionSettings::default());
            prop_assert_eq!(result.credits.len(), 1);
            prop_assert_eq!(result.credits[0].weight, 1.0);
            prop_assert_eq!(result.credits[0].amount_minor, Some(value));
        }
    }
}
