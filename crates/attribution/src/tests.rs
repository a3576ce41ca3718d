use expect_test::{Expect, expect};
use proptest::prelude::*;
use touchline_core::{Money, Timestamp, TouchStatus, TouchType};

use super::*;

/// `spec` is `event_id@time:campaign` separated by spaces; the conversion is at
/// `at` with `value` minor units (or a count when `None`).
fn check(model: Model, spec: &str, at: i64, value: Option<i64>, expect: Expect) {
    let touches = parse(spec);
    let conversion = conversion(at, value);
    let result = attribute(model, &conversion, &touches);
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
    expect.assert_eq(&out);
}

fn parse(spec: &str) -> Vec<TouchPoint> {
    spec.split_whitespace()
        .map(|item| {
            let (id, rest) = item.split_once('@').expect("id@time:campaign");
            let (at, campaign) = rest.split_once(':').expect("time:campaign");
            TouchPoint {
                event_id: id.into(),
                occurred_at: Timestamp::from_millis(at.parse().expect("time")),
                campaign_id: campaign.into(),
                touch_type: TouchType::EmailClick,
                status: TouchStatus::Responded,
            }
        })
        .collect()
}

fn conversion(at: i64, value: Option<i64>) -> Conversion {
    Conversion {
        id: "opportunity_created:o".into(),
        kind: ConversionKind::OpportunityCreated,
        subject_id: "o".into(),
        occurred_at: Timestamp::from_millis(at),
        value: value.map(|v| Money::new(v, "USD")),
    }
}

#[test]
fn first_touch_takes_the_earliest_eligible_touch() {
    // Arrival order is not attribution order; t0 at time 5 is first.
    check(
        Model::FirstTouch,
        "t1@10:search t2@20:webinar t0@5:email t3@30:events",
        25,
        Some(123_45),
        expect![[r#"
            email t0 w=1 amount=Some(12345)
        "#]],
    );
}

#[test]
fn last_touch_is_the_last_at_or_before_the_conversion() {
    // t3 at 30 is after the conversion at 25; t2 at exactly 25 counts.
    check(
        Model::LastTouch,
        "t1@10:search t2@25:webinar t3@30:events",
        25,
        Some(500),
        expect![[r#"
            webinar t2 w=1 amount=Some(500)
        "#]],
    );
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
        Model::FirstTouch,
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
    prop::collection::vec((0i64..50, 0u8..5, 0u32..1000), 0..20).prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (at, campaign, salt))| TouchPoint {
                event_id: format!("e{salt:04}-{i}"),
                occurred_at: Timestamp::from_millis(at),
                campaign_id: format!("c{campaign}"),
                touch_type: TouchType::WebVisit,
                status: TouchStatus::Sent,
            })
            .collect()
    })
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
    fn credits_sum_to_the_value_and_weights_to_one(touches in touches_strategy(), at in 0i64..60, value in 0i64..10_000_000) {
        for model in Model::ALL {
            let result = attribute(model, &conversion(at, Some(value)), &touches);
            let amount: i64 = result.credits.iter().map(|c| c.amount_minor.unwrap_or(0)).sum();
            prop_assert_eq!(amount, value);
            let weight: f64 = result.credits.iter().map(|c| c.weight).sum();
            prop_assert!((weight - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn arrival_order_does_not_matter(touches in touches_strategy(), at in 0i64..60, seed in any::<u64>()) {
        let mut shuffled = touches.clone();
        // A deterministic shuffle driven by the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        for model in Model::ALL {
            let conversion = conversion(at, Some(1_000));
            prop_assert_eq!(attribute(model, &conversion, &touches), attribute(model, &conversion, &shuffled));
        }
    }

    #[test]
    fn a_single_touch_gets_everything(at in 0i64..50, value in 0i64..1_000_000) {
        let touches = parse(&format!("only@{at}:solo"));
        for model in Model::ALL {
            let result = attribute(model, &conversion(at, Some(value)), &touches);
            prop_assert_eq!(result.credits.len(), 1);
            prop_assert_eq!(result.credits[0].weight, 1.0);
            prop_assert_eq!(result.credits[0].amount_minor, Some(value));
        }
    }
}
