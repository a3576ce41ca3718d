//! Which conversions a batch cannot have changed, so that they are not
//! re-attributed (nor their touch rows read) for nothing.
//!
//! # The rule ([`answer_may_change`])
//! A conversion the fold marked is re-attributed unless all of these hold:
//! 1. the batch changed nothing about it but touches: touches added to a
//!    person it draws on, or set aside when a history passes
//!    `MAX_TOUCH_HISTORY` ([`Change::TouchesFrom`]). Anything else (its time,
//!    value, milestones, contacts, a merge, account membership, a lead's
//!    creation, a re-attribution asked for) is [`Change::Inputs`];
//! 2. every such touch occurred strictly after the conversion. Attribution
//!    admits a touch only when `occurred_at <= conversion.occurred_at`
//!    (`touchline_attribution::eligible_touches`) and applies the window,
//!    status and synthesized filters to those touches only, so a later touch
//!    is eligible under no model and no setting;
//! 3. the stored view holds a live result for exactly the configured models:
//!    it is what re-attributing would compare against and keep;
//! 4. no stored result says [`Unattributed::NoTouches`]. The one thing an
//!    ineligible touch decides is whether the touches are empty: a first
//!    touch after the conversion turns `NoTouches` into `AllAfterConversion`.
//!    Any other answer came from touches that stay non-empty (a touch set
//!    aside leaves `MAX_TOUCH_HISTORY` of them).
//!
//! When the rule holds, re-attributing would give the stored answer again
//! and publish nothing, so leaving it is exact.

use touchline_attribution::{Model, Unattributed};
use touchline_core::Timestamp;
use touchline_projection::{ConversionView, EARLIEST_TOUCHES_KEPT, TouchHistory};

/// What a batch changed about one conversion's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// Anything but touches, or not known.
    Inputs,
    /// Only touches were added or set aside, none earlier than this.
    TouchesFrom(Timestamp),
}

impl Change {
    /// Both changes, as one.
    pub(super) fn and(self, other: Change) -> Change {
        match (self, other) {
            (Change::TouchesFrom(a), Change::TouchesFrom(b)) => Change::TouchesFrom(a.min(b)),
            _ => Change::Inputs,
        }
    }
}

/// Whether re-attributing a conversion after `change` may give anything but
/// `stored`, the view as it stands (see the module docs for the rule).
pub(super) fn answer_may_change(
    stored: Option<&ConversionView>,
    change: Change,
    models: &[Model],
) -> bool {
    let Change::TouchesFrom(earliest) = change else {
        return true;
    };
    let Some(stored) = stored else {
        return true;
    };
    let exactly_the_models =
        stored.results.len() == models.len() && models.iter().all(|m| stored.result(*m).is_some());
    let no_touches = stored
        .results
        .iter()
        .any(|r| r.attribution.unattributed == Some(Unattributed::NoTouches));
    !(earliest > stored.conversion.occurred_at && exactly_the_models && !no_touches)
}

/// What one touch event at `at` changed about the conversions its person is
/// behind: the touch, and, if it made the history set one aside
/// (`set_aside`), that touch. The one set aside sat just after the
/// `EARLIEST_TOUCHES_KEPT` earliest, so it is no earlier than the last of
/// them; if the rows are not there to say, the change is not known.
pub(super) fn touch_change(at: Timestamp, set_aside: bool, history: &TouchHistory) -> Change {
    if !set_aside {
        return Change::TouchesFrom(at);
    }
    match history
        .rows()
        .ok()
        .and_then(|rows| rows.get(EARLIEST_TOUCHES_KEPT - 1))
    {
        Some(kept) => Change::TouchesFrom(at.min(kept.occurred_at)),
        None => Change::Inputs,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use touchline_attribution::{
        AttributionSettings, Conversion, ConversionKind, Lookback, TouchPoint, attribute_all,
    };
    use touchline_core::{TouchOrigin, TouchStatus, TouchType};

    use super::*;

    const MODELS: [Model; 3] = [Model::FirstTouch, Model::LastTouch, Model::Linear];
    const AT: i64 = 1_000_000;

    fn touch(id: &str, at: i64) -> TouchPoint {
        TouchPoint {
            event_id: id.into(),
            occurred_at: Timestamp::from_millis(at),
            campaign_id: format!("c-{id}"),
            touch_type: TouchType::AdClick,
            status: TouchStatus::Sent,
            origin: TouchOrigin::Synthesized,
        }
    }

    fn conversion() -> Conversion {
        Conversion {
            id: "lead_created:p".into(),
            kind: ConversionKind::LeadCreated,
            subject_id: "p".into(),
            occurred_at: Timestamp::from_millis(AT),
            value: None,
            milestones: Default::default(),
        }
    }

    /// A stored view of `conversion` attributed over `touches`.
    fn stored(
        touches: &[TouchPoint],
        models: &[Model],
        settings: &AttributionSettings,
    ) -> ConversionView {
        let mut view = ConversionView::new(conversion());
        view.update(
            conversion(),
            attribute_all(models, &conversion(), touches, settings),
            1,
        );
        view
    }

    /// Every row: the touches stored before, the change, the settings, and
    /// whether the rule must re-attribute. Each row is checked against
    /// attribution itself: where the rule skips, attributing the touches
    /// before and after gives the same answer.
    #[test]
    fn skips_exactly_when_the_answer_cannot_change() {
        let responded = AttributionSettings {
            filter: touchline_attribution::TouchFilter::Responded,
            synthesized_touches: touchline_attribution::SynthesizedTouches::Exclude,
            lookback_days: Lookback {
                lead_created: Some(1),
                ..Lookback::default()
            },
            ..AttributionSettings::default()
        };
        let plain = AttributionSettings::default();
        let after = Change::TouchesFrom(Timestamp::from_millis(AT + 1));
        let at_conversion = Change::TouchesFrom(Timestamp::from_millis(AT));
        let before = Change::TouchesFrom(Timestamp::from_millis(AT - 1));
        // (stored touches, change, settings, re-attribute?)
        let rows: Vec<(Vec<TouchPoint>, Change, &AttributionSettings, bool)> = vec![
            (vec![touch("a", AT - 5)], after, &plain, false),
            (vec![touch("a", AT - 5)], at_conversion, &plain, true),
            (vec![touch("a", AT - 5)], before, &plain, true),
            (vec![touch("a", AT - 5)], Change::Inputs, &plain, true),
            // None passes the filters: the reason stays NoneMatchFilter.
            (vec![touch("a", AT - 5)], after, &responded, false),
            // All after: stays AllAfterConversion.
            (vec![touch("a", AT + 9)], after, &plain, false),
            // All outside the window: stays AllOutsideWindow.
            (
                vec![touch("a", AT - 3 * 86_400_000)],
                after,
                &responded,
                false,
            ),
            // No touches at all: the first, even after, changes the reason.
            (vec![], after, &plain, true),
            (vec![], after, &responded, true),
        ];
        for (i, (touches, change, settings, expected)) in rows.into_iter().enumerate() {
            let view = stored(&touches, &MODELS, settings);
            assert_eq!(
                answer_may_change(Some(&view), change, &MODELS),
                expected,
                "row {i}"
            );
            if let Change::TouchesFrom(at) = change {
                let mut more = touches.clone();
                more.push(touch("new", at.as_millis()));
                let again = attribute_all(&MODELS, &conversion(), &more, settings);
                let same = view
                    .results
                    .iter()
                    .zip(&again)
                    .all(|(r, (_, a))| &r.attribution == a);
                assert!(expected || same, "row {i}: skipped but the answer moved");
            }
        }
    }

    #[test]
    fn a_view_not_holding_the_configured_models_is_re_attributed() {
        let touches = [touch("a", AT - 5)];
        let after = Change::TouchesFrom(Timestamp::from_millis(AT + 1));
        let plain = AttributionSettings::default();
        assert!(answer_may_change(None, after, &MODELS));
        let fewer = stored(&touches, &MODELS[..2], &plain);
        assert!(answer_may_change(Some(&fewer), after, &MODELS));
        let more = stored(&touches, &MODELS, &plain);
        assert!(answer_may_change(Some(&more), after, &MODELS[..2]));
        let mut retired = stored(&touches, &MODELS, &plain);
        retired.retire_all();
        assert!(answer_may_change(Some(&retired), after, &MODELS));
    }

    #[test]
    fn changes_combine_to_the_earliest_touch_or_to_inputs() {
        let t = |ms| Change::TouchesFrom(Timestamp::from_millis(ms));
        assert_eq!(t(5).and(t(3)), t(3));
        assert_eq!(t(5).and(Change::Inputs), Change::Inputs);
        assert_eq!(Change::Inputs.and(t(5)), Change::Inputs);
    }

    #[test]
    fn a_touch_set_aside_counts_from_the_last_earliest_kept() {
        let at = Timestamp::from_millis(AT);
        let unread = TouchHistory::unread();
        assert_eq!(touch_change(at, false, &unread), Change::TouchesFrom(at));
        assert_eq!(touch_change(at, true, &unread), Change::Inputs);
        let rows: Vec<touchline_projection::TouchEntry> = (0..EARLIEST_TOUCHES_KEPT as i64 + 2)
            .map(|i| touchline_projection::TouchEntry {
                seq: i as u64,
                event_id: format!("t-{i:05}"),
                campaign_id: "c".into(),
                touch_type: TouchType::AdClick,
                status: TouchStatus::Sent,
                asset: String::new(),
                topic: String::new(),
                occurred_at: Timestamp::from_millis(i),
                recorded_at: Timestamp::from_millis(i),
                provenance: Default::default(),
            })
            .collect();
        let read = TouchHistory::read(rows);
        let last_earliest = Timestamp::from_millis(EARLIEST_TOUCHES_KEPT as i64 - 1);
        assert_eq!(
            touch_change(at, true, &read),
            Change::TouchesFrom(last_earliest)
        );
    }
}
