use touchline_core::{OpportunityClosed, OpportunityCreated, OpportunityUpdated};

use super::*;

const OPP: &str = "opp-1";

fn at(id: &str, ms: i64, event: Event) -> Envelope {
    Envelope {
        event_id: id.into(),
        occurred_at: Timestamp::from_millis(ms),
        recorded_at: Timestamp::from_millis(ms),
        source_system: "crm".into(),
        event,
    }
}

fn eur(minor: i64) -> Money {
    Money {
        amount_minor: minor,
        currency: "EUR".into(),
    }
}

fn created(stage: &str, minor: i64, pct: u32) -> Event {
    Event::OpportunityCreated(OpportunityCreated {
        opportunity_id: OPP.into(),
        account_id: "acc-1".into(),
        name: "Deal".into(),
        stage: stage.into(),
        amount: eur(minor),
        probability_pct: pct,
        ..OpportunityCreated::default()
    })
}

fn updated(stage: Option<&str>, minor: Option<i64>, pct: Option<u32>) -> Event {
    Event::OpportunityUpdated(OpportunityUpdated {
        opportunity_id: OPP.into(),
        stage: stage.map(str::to_owned),
        amount: minor.map(eur),
        probability_pct: pct,
        expected_close_at: None,
    })
}

fn won(minor: i64) -> Event {
    Event::OpportunityClosed(OpportunityClosed {
        opportunity_id: OPP.into(),
        won: true,
        amount: eur(minor),
        partner_id: String::new(),
    })
}

/// Every order of `items`.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

/// The view `events` fold to in this order, without the log positions
/// (which are the arrival order itself).
fn fold(events: &[Envelope]) -> OpportunityView {
    let mut view = OpportunityView::new(OPP);
    for (seq, envelope) in events.iter().enumerate() {
        view.apply(seq as u64 + 1, envelope);
        // Folding an event twice changes nothing.
        view.apply(seq as u64 + 1, envelope);
    }
    view.last_seq = 0;
    view.stage_history.iter_mut().for_each(|c| c.seq = 0);
    view
}

/// The view in every arrival order, checked to be one.
fn in_any_order(events: &[Envelope]) -> OpportunityView {
    let first = fold(events);
    for order in permutations(events) {
        let ids: Vec<&str> = order.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(fold(&order), first, "arrival order {ids:?}");
    }
    first
}

fn stages(view: &OpportunityView) -> Vec<&str> {
    view.stage_changes().map(|c| c.stage.as_str()).collect()
}

#[test]
fn the_latest_update_sets_the_stage_whatever_arrives_first() {
    let view = in_any_order(&[
        at("c", 10, created("qualification", 100_00, 10)),
        at("u1", 30, updated(Some("negotiation"), None, Some(75))),
        at("u2", 20, updated(Some("proposal"), Some(200_00), Some(50))),
        // Same time as u2: the event id breaks the tie.
        at("u3", 20, updated(None, Some(300_00), None)),
        at("u4", 40, updated(None, None, None)),
    ]);
    assert_eq!(view.stage, "negotiation");
    assert_eq!(view.probability_pct, 75);
    assert_eq!(view.amount, Some(eur(300_00)));
    assert_eq!(stages(&view), ["qualification", "proposal", "negotiation"]);
    assert!(view.closed.is_none());
}

#[test]
fn a_close_holds_against_earlier_changes_and_yields_to_later_ones() {
    let before_close = [
        at("c", 10, created("qualification", 100_00, 10)),
        at("u1", 20, updated(Some("proposal"), None, Some(50))),
        at("w", 30, won(90_00)),
        at("late", 25, updated(Some("negotiation"), None, Some(80))),
    ];
    let view = in_any_order(&before_close);
    assert_eq!(view.stage, "closed_won");
    assert_eq!(view.probability_pct, 100);
    assert!(
        view.closed
            .as_ref()
            .is_some_and(|c| c.won && c.amount == eur(90_00))
    );
    assert_eq!(
        stages(&view),
        ["qualification", "proposal", "negotiation", "closed_won"]
    );

    let mut reopened = before_close.to_vec();
    reopened.push(at("reopen", 40, updated(Some("negotiation"), None, None)));
    let view = in_any_order(&reopened);
    assert_eq!(view.stage, "negotiation");
    assert!(view.closed.is_none(), "a change after the close reopens it");
    assert_eq!(view.probability_pct, 100, "no later event set it");
}

#[test]
fn updates_before_the_creation_keep_their_later_values() {
    let view = in_any_order(&[
        at("u", 20, updated(Some("proposal"), Some(500_00), None)),
        at("c", 10, created("qualification", 100_00, 10)),
        at("same", 20, updated(Some("proposal"), None, Some(40))),
    ]);
    assert_eq!(view.stage, "proposal");
    assert_eq!(view.amount, Some(eur(500_00)));
    assert_eq!(view.probability_pct, 40);
    assert_eq!(view.created_at, Some(Timestamp::from_millis(10)));
    // The repeat of `proposal` is no change.
    assert_eq!(stages(&view), ["qualification", "proposal"]);
    assert_eq!(view.stage_history.len(), 3);
}

fn role(person: &str, role: &str) -> Event {
    Event::OpportunityContactRoleAdded(touchline_core::OpportunityContactRoleAdded {
        opportunity_id: OPP.into(),
        person_id: person.into(),
        role: role.into(),
    })
}

#[test]
fn a_merged_contacts_role_counts_as_if_named_after_the_merge() {
    let bob = at("bob", 5, role("bob", "decision maker"));
    let cy = at("cy", 7, role("cy", "influencer"));
    // cy's role known before the merge of cy into bob...
    let mut before = OpportunityView::new(OPP);
    before.apply(1, &bob);
    before.apply(2, &cy);
    before.replace_contact("cy", "bob");
    // ...and arriving after it, for bob.
    let mut after = OpportunityView::new(OPP);
    after.apply(1, &bob);
    after.replace_contact("cy", "bob");
    after.apply(2, &at("cy", 7, role("bob", "influencer")));
    assert_eq!(before.contact_roles, after.contact_roles);
    assert_eq!(before.contact_roles[0].role, "influencer", "the later role");
}
