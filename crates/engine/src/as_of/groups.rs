//! The pure half of an as-of report: conversions then and now, their credit
//! already named by group, in; per group and currency the credit then, now
//! and the difference, with why the moved conversions in it moved, out. No
//! store, no clock: the scan that feeds it is [`super::report`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use touchline_core::MinorTotal;

use super::MoveReason;
use crate::queries::credit_total;

/// One conversion's credit on one side, per group (a campaign id, channel or
/// source); a conversion's weights sum to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped {
    pub conversion_id: String,
    /// The currency of its value; `None` for conversions without one (leads).
    pub currency: Option<String>,
    pub shares: Vec<GroupShare>,
}

/// A conversion's credit to one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupShare {
    pub group: String,
    pub weight: f64,
    pub amount_minor: i64,
}

/// How a group reads in a row: the campaign's name and channel for
/// `by=campaign`, the group itself otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupLabel {
    pub name: String,
    pub channel: String,
}

/// Credit on one side: fractional conversions and value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Credited {
    /// Fractional conversions credited (sum of weights).
    pub conversions: f64,
    /// Value credited in minor units of the row's currency.
    pub value_minor: MinorTotal,
}

impl Credited {
    fn add(&mut self, weight: f64, amount_minor: i64) {
        self.conversions += weight;
        self.value_minor += MinorTotal::from(amount_minor);
    }

    fn rounded(self) -> Self {
        Credited {
            conversions: credit_total(self.conversions),
            ..self
        }
    }

    /// `self - then`, as a report gives it.
    fn minus(self, then: Credited) -> Credited {
        Credited {
            conversions: credit_total(self.conversions - then.conversions),
            value_minor: self.value_minor - then.value_minor,
        }
    }
}

/// Moved conversions per reason; a conversion moved for two reasons counts
/// under both. Every reason is a field, zero or not, so rows have one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ReasonCounts {
    pub new_conversion: usize,
    pub late_touch: usize,
    pub merge: usize,
    pub value_changed: usize,
    pub retracted: usize,
    pub model_change: usize,
    pub contact_added: usize,
    pub milestone_changed: usize,
    pub recomputed: usize,
}

impl ReasonCounts {
    pub fn count(&mut self, reason: MoveReason) {
        let field = match reason {
            MoveReason::NewConversion => &mut self.new_conversion,
            MoveReason::LateTouch => &mut self.late_touch,
            MoveReason::Merge => &mut self.merge,
            MoveReason::ValueChanged => &mut self.value_changed,
            MoveReason::Retracted => &mut self.retracted,
            MoveReason::ModelChange => &mut self.model_change,
            MoveReason::ContactAdded => &mut self.contact_added,
            MoveReason::MilestoneChanged => &mut self.milestone_changed,
            MoveReason::Recomputed => &mut self.recomputed,
        };
        *field += 1;
    }

    fn count_all(&mut self, reasons: &[MoveReason]) {
        for &reason in reasons {
            self.count(reason);
        }
    }
}

/// One group in one currency, then and now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsOfRow {
    /// The campaign id, channel or source; `(none)` for campaigns without a
    /// channel or source, `(no touch)` for conversions without an eligible touch.
    pub group: String,
    /// The campaign's name (`by=campaign`); the group otherwise.
    pub name: String,
    /// The campaign's channel (`by=campaign`); the group for `by=channel`.
    pub channel: String,
    pub currency: Option<String>,
    pub then: Credited,
    pub now: Credited,
    /// `now - then`.
    pub delta: Credited,
    /// Moved conversions that credit the group then or now (in the currency).
    pub moved_conversions: usize,
    pub reasons: ReasonCounts,
}

/// Every group of one currency, then and now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsOfTotal {
    pub currency: Option<String>,
    pub then: Credited,
    pub now: Credited,
    pub delta: Credited,
    /// Moved conversions in the currency then or now, each once.
    pub moved_conversions: usize,
    pub reasons: ReasonCounts,
}

/// Sums `then` and `now` per group and currency. A conversion is moved when
/// `reasons` names it (the caller decides what moved and why); it counts in
/// every row it credits on either side, once per row. Rows come with the
/// largest change first (value, then conversions, both by size), then by
/// value now, group and currency; totals by currency.
pub fn group_rows(
    then: &[Grouped],
    now: &[Grouped],
    reasons: &BTreeMap<String, Vec<MoveReason>>,
    labels: &BTreeMap<String, GroupLabel>,
) -> (Vec<AsOfRow>, Vec<AsOfTotal>) {
    type Key = (String, Option<String>);
    #[derive(Default)]
    struct Sums {
        then: Credited,
        now: Credited,
        moved: BTreeSet<String>,
    }
    let mut rows: BTreeMap<Key, Sums> = BTreeMap::new();
    let mut totals: BTreeMap<Option<String>, Sums> = BTreeMap::new();
    for (side, conversions) in [(false, then), (true, now)] {
        for conversion in conversions {
            let moved = reasons.contains_key(&conversion.conversion_id);
            let total = totals.entry(conversion.currency.clone()).or_default();
            for share in &conversion.shares {
                let key = (share.group.clone(), conversion.currency.clone());
                let row = rows.entry(key).or_default();
                let sums = [&mut *row, &mut *total];
                for sums in sums {
                    let credited = if side { &mut sums.now } else { &mut sums.then };
                    credited.add(share.weight, share.amount_minor);
                    if moved {
                        sums.moved.insert(conversion.conversion_id.clone());
                    }
                }
            }
        }
    }
    let counts = |moved: &BTreeSet<String>| {
        let mut counts = ReasonCounts::default();
        for id in moved {
            counts.count_all(reasons.get(id).map_or(&[][..], Vec::as_slice));
        }
        counts
    };
    let mut out: Vec<AsOfRow> = rows
        .into_iter()
        .map(|((group, currency), sums)| {
            let label = labels.get(&group).cloned().unwrap_or_else(|| GroupLabel {
                name: group.clone(),
                channel: String::new(),
            });
            let (then, now) = (sums.then.rounded(), sums.now.rounded());
            AsOfRow {
                name: label.name,
                channel: label.channel,
                group,
                currency,
                then,
                now,
                delta: sums.now.minus(sums.then),
                moved_conversions: sums.moved.len(),
                reasons: counts(&sums.moved),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.delta
            .value_minor
            .abs()
            .cmp(&a.delta.value_minor.abs())
            .then(
                b.delta
                    .conversions
                    .abs()
                    .total_cmp(&a.delta.conversions.abs()),
            )
            .then(b.now.value_minor.cmp(&a.now.value_minor))
            .then(a.group.cmp(&b.group))
            .then(a.currency.cmp(&b.currency))
    });
    let totals = totals
        .into_iter()
        .map(|(currency, sums)| AsOfTotal {
            currency,
            then: sums.then.rounded(),
            now: sums.now.rounded(),
            delta: sums.now.minus(sums.then),
            moved_conversions: sums.moved.len(),
            reasons: counts(&sums.moved),
        })
        .collect();
    (out, totals)
}

/// How much of one conversion's credit moved: half the sum of the absolute
/// changes per campaign, where credit that appeared or went (a new or
/// retracted conversion, a changed value) counts as coming from or going to
/// one more bucket. So a shift of 100 from one campaign to another is 100, a
/// new conversion worth 100 is 100, and a value from 100 to 150 is 50. The
/// amounts in minor units and the shares of the conversion.
pub fn distance(then: &[(String, f64, i64)], now: &[(String, f64, i64)]) -> (i64, f64) {
    let mut changes: BTreeMap<&str, (f64, i128)> = BTreeMap::new();
    for (sign, credits) in [(-1.0, then), (1.0, now)] {
        for (campaign, weight, amount) in credits {
            let change = changes.entry(campaign.as_str()).or_default();
            change.0 += sign * weight;
            change.1 += sign as i128 * i128::from(*amount);
        }
    }
    let (mut share, mut minor) = (0.0f64, 0i128);
    let (mut net_share, mut net_minor) = (0.0f64, 0i128);
    for (weight, amount) in changes.into_values() {
        share += weight.abs();
        minor += amount.abs();
        net_share += weight;
        net_minor += amount;
    }
    let minor = (minor + net_minor.abs()) / 2;
    (
        i64::try_from(minor).unwrap_or(i64::MAX),
        credit_total((share + net_share.abs()) / 2.0),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn conversion(id: &str, currency: Option<&str>, shares: &[(&str, f64, i64)]) -> Grouped {
        Grouped {
            conversion_id: id.into(),
            currency: currency.map(str::to_owned),
            shares: shares
                .iter()
                .map(|&(group, weight, amount_minor)| GroupShare {
                    group: group.into(),
                    weight,
                    amount_minor,
                })
                .collect(),
        }
    }

    fn credited(conversions: f64, value_minor: MinorTotal) -> Credited {
        Credited {
            conversions,
            value_minor,
        }
    }

    #[test]
    fn rows_sum_each_side_and_count_each_moved_conversion_once_per_row() {
        // d1 moved half its credit from ads to webinar (a late touch), d2 is
        // new, d3 stands unchanged, d4 in USD was retracted.
        let then = [
            conversion("d1", Some("EUR"), &[("ads", 1.0, 100_00)]),
            conversion(
                "d3",
                Some("EUR"),
                &[("ads", 0.5, 10_00), ("fair", 0.5, 10_00)],
            ),
            conversion("d4", Some("USD"), &[("ads", 1.0, 7_00)]),
        ];
        let now = [
            conversion(
                "d1",
                Some("EUR"),
                &[("ads", 0.5, 50_00), ("webinar", 0.5, 50_00)],
            ),
            conversion("d2", Some("EUR"), &[("webinar", 1.0, 30_00)]),
            conversion(
                "d3",
                Some("EUR"),
                &[("ads", 0.5, 10_00), ("fair", 0.5, 10_00)],
            ),
        ];
        let reasons = BTreeMap::from([
            ("d1".to_owned(), vec![MoveReason::LateTouch]),
            ("d2".to_owned(), vec![MoveReason::NewConversion]),
            ("d4".to_owned(), vec![MoveReason::Retracted]),
        ]);
        let labels = BTreeMap::from([(
            "webinar".to_owned(),
            GroupLabel {
                name: "Spring webinar".into(),
                channel: "events".into(),
            },
        )]);
        let (rows, totals) = group_rows(&then, &now, &reasons, &labels);
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.group.as_str(),
                    r.currency.as_deref(),
                    r.then,
                    r.now,
                    r.delta,
                    r.moved_conversions,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "webinar",
                    Some("EUR"),
                    credited(0.0, 0),
                    credited(1.5, 80_00),
                    credited(1.5, 80_00),
                    2
                ),
                (
                    "ads",
                    Some("EUR"),
                    credited(1.5, 110_00),
                    credited(1.0, 60_00),
                    credited(-0.5, -50_00),
                    1
                ),
                (
                    "ads",
                    Some("USD"),
                    credited(1.0, 7_00),
                    credited(0.0, 0),
                    credited(-1.0, -7_00),
                    1
                ),
                (
                    "fair",
                    Some("EUR"),
                    credited(0.5, 10_00),
                    credited(0.5, 10_00),
                    credited(0.0, 0),
                    0
                ),
            ]
        );
        assert_eq!(rows[0].name, "Spring webinar");
        assert_eq!(rows[0].channel, "events");
        assert_eq!(
            rows[0].reasons,
            ReasonCounts {
                late_touch: 1,
                new_conversion: 1,
                ..ReasonCounts::default()
            }
        );
        // Unlabelled groups read as themselves.
        assert_eq!(
            (rows[1].name.as_str(), rows[1].channel.as_str()),
            ("ads", "")
        );
        assert_eq!(rows[3].reasons, ReasonCounts::default());

        assert_eq!(totals.len(), 2);
        let eur = &totals[0];
        assert_eq!(eur.currency.as_deref(), Some("EUR"));
        assert_eq!(
            (eur.then, eur.now, eur.delta),
            (
                credited(2.0, 120_00),
                credited(3.0, 150_00),
                credited(1.0, 30_00)
            )
        );
        assert_eq!(eur.moved_conversions, 2);
        let usd = &totals[1];
        assert_eq!(usd.delta, credited(-1.0, -7_00));
        assert_eq!(usd.reasons.retracted, 1);
    }

    #[test]
    fn a_conversion_moved_for_two_reasons_counts_under_both_but_once_in_the_row() {
        let then = [conversion("p", None, &[("ads", 0.5, 0), ("mail", 0.5, 0)])];
        let now = [conversion("p", None, &[("ads", 1.0, 0)])];
        let reasons = BTreeMap::from([(
            "p".to_owned(),
            vec![MoveReason::LateTouch, MoveReason::Merge],
        )]);
        let (rows, totals) = group_rows(&then, &now, &reasons, &BTreeMap::new());
        let ads = rows.iter().find(|r| r.group == "ads").unwrap();
        assert_eq!(ads.moved_conversions, 1);
        assert_eq!((ads.reasons.late_touch, ads.reasons.merge), (1, 1));
        assert_eq!(ads.delta, credited(0.5, 0));
        assert_eq!(ads.currency, None);
        assert_eq!(totals[0].moved_conversions, 1);
        assert_eq!(totals[0].delta, credited(0.0, 0));
    }

    #[test]
    fn nothing_in_gives_nothing_out() {
        let (rows, totals) = group_rows(&[], &[], &BTreeMap::new(), &BTreeMap::new());
        assert!(rows.is_empty() && totals.is_empty());
    }

    #[test]
    fn sums_of_thirds_lose_their_float_noise() {
        let third = 1.0 / 3.0;
        let then: Vec<Grouped> = (0..3)
            .map(|i| conversion(&format!("c{i}"), None, &[("a", third, 0); 3]))
            .collect();
        let (rows, _) = group_rows(&then, &then, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(rows[0].then.conversions, 3.0);
        assert_eq!(rows[0].delta.conversions, 0.0);
        assert!(rows[0].delta.conversions.is_sign_positive());
    }

    #[test]
    fn distance_counts_credit_that_came_or_went() {
        let c = |campaign: &str, weight: f64, amount: i64| (campaign.to_owned(), weight, amount);
        assert_eq!(
            distance(&[c("a", 1.0, 100)], &[c("b", 1.0, 100)]),
            (100, 1.0)
        );
        assert_eq!(distance(&[], &[c("a", 1.0, 100)]), (100, 1.0));
        assert_eq!(distance(&[c("a", 1.0, 100)], &[]), (100, 1.0));
        assert_eq!(
            distance(&[c("a", 1.0, 100)], &[c("a", 1.0, 150)]),
            (50, 0.0)
        );
        assert_eq!(
            distance(
                &[c("a", 0.5, 50), c("b", 0.5, 50)],
                &[c("a", 0.5, 50), c("b", 0.5, 50)]
            ),
            (0, 0.0)
        );
    }
}
