use touchline_core::{LeadRouted, LeadUpdated};
use touchline_fixtures::{at, envelope, lead_updated};

use super::*;

/// p re-routed by hand through the API to partner `owner`.
fn routed(id: &str, ms: i64, owner: &str) -> Envelope {
    Envelope {
        source_system: "touchline.api".into(),
        ..envelope(
            id,
            ms,
            LeadRouted {
                owner_kind: OwnerKind::Partner,
                reason: "by hand".into(),
                ..touchline_fixtures::routed("p", owner)
            },
        )
    }
}

/// p given to `owner` in the CRM.
fn updated(id: &str, ms: i64, owner: &str) -> Envelope {
    Envelope {
        source_system: "crm".into(),
        ..envelope(
            id,
            ms,
            LeadUpdated {
                owner_id: Some(owner.into()),
                ..lead_updated("p")
            },
        )
    }
}

#[test]
fn the_newest_owner_change_wins_whatever_the_arrival_order() {
    let events = [routed("r", 20, "partner-acme"), updated("u", 10, "rep-x")];
    for order in [[0, 1], [1, 0]] {
        let mut person = PersonView::new("p");
        for (seq, i) in order.into_iter().enumerate() {
            person.apply(seq as u64, &events[i]);
        }
        assert_eq!(person.owner_id, "partner-acme", "order {order:?}");
        assert_eq!(person.owner_kind, OwnerKind::Partner);
    }
}

fn touch(id: &str, ms: i64, campaign: &str) -> TouchEntry {
    TouchEntry {
        seq: 0,
        event_id: id.into(),
        campaign_id: campaign.into(),
        touch_type: TouchType::WebVisit,
        status: TouchStatus::Sent,
        asset: String::new(),
        topic: String::new(),
        occurred_at: at(ms),
        recorded_at: at(ms),
        provenance: TouchProvenance::default(),
    }
}

#[test]
fn a_bounded_history_keeps_the_earliest_and_latest_touches_in_any_arrival_order() {
    let touches: Vec<TouchEntry> = (0..7)
        .map(|i| touch(&format!("t{i}"), (i * 37 % 7) * 10, &format!("c{}", i % 4)))
        .collect();
    let mut expected: Vec<String> = Vec::new();
    for order in [
        vec![0, 1, 2, 3, 4, 5, 6],
        vec![6, 5, 4, 3, 2, 1, 0],
        vec![3, 0, 6, 1, 5, 2, 4],
    ] {
        let mut person = PersonView::new("p");
        let mut history = TouchHistory::read(Vec::new());
        for i in order {
            person
                .insert_touch_within(touches[i].clone(), &mut history, 3, 1)
                .unwrap();
        }
        let rows = history.rows().unwrap();
        let kept: Vec<String> = rows.iter().map(|t| t.event_id.clone()).collect();
        // The rows to write are exactly the rows kept (nothing was stored before).
        let (puts, deletes) = history.changes();
        let mut written: Vec<String> = puts.iter().map(|t| t.event_id.clone()).collect();
        written.sort();
        let mut sorted_kept = kept.clone();
        sorted_kept.sort();
        assert_eq!(written, sorted_kept);
        assert_eq!(
            deletes.len(),
            4,
            "every touch set aside was written, then removed"
        );
        assert_eq!(person.first_touch(), rows.first());
        assert_eq!(person.last_touch(), rows.last());
        if expected.is_empty() {
            expected = kept.clone();
        }
        assert_eq!(kept, expected);
        assert_eq!(person.touches_set_aside, 4);
        assert_eq!(person.touch_count(), 7);
        // Membership counts every touch, kept or not.
        assert_eq!(person.campaigns.len(), 4);
    }
    // ...and they are the earliest and the two latest by time.
    let mut by_time = touches.clone();
    by_time.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
    let ends: Vec<String> = [&by_time[0], &by_time[5], &by_time[6]]
        .iter()
        .map(|t| t.event_id.clone())
        .collect();
    assert_eq!(expected, ends);
}

#[test]
fn a_display_name_is_first_and_last_name_one_space_between_trimmed_at_both_ends() {
    let name = |first: &str, last: &str| {
        let mut person = PersonView::new("p");
        person.first_name = first.into();
        person.last_name = last.into();
        person.display_name()
    };
    assert_eq!(name("Ann", "Lee"), "Ann Lee");
    assert_eq!(name("Ann", ""), "Ann");
    assert_eq!(name("", "Lee"), "Lee");
    assert_eq!(name("", ""), "");
    // Only the ends are trimmed: what is between the names stays.
    assert_eq!(name(" Ann ", " Lee "), "Ann   Lee");
}
