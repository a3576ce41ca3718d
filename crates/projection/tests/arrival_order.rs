//! Every view folds to the same state in whatever order its events arrive:
//! a value several events set is the latest event's (by time, then event id),
//! a set kept as a list is in id order, and a log position is only a
//! position.

use touchline_core::*;
use touchline_fixtures::*;
use touchline_projection::{AccountView, CampaignView, OpportunityView, PersonView};

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

/// The state `fold` reaches over `events` in every order, checked to be one.
/// (Each event once: the engine drops an event id it has seen.)
fn in_any_order<V: PartialEq + std::fmt::Debug>(
    events: &[Envelope],
    fold: impl Fn(&[Envelope]) -> V,
) -> V {
    let first = fold(events);
    for order in permutations(events) {
        let ids: Vec<&str> = order.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(fold(&order), first, "arrival order {ids:?}");
    }
    first
}

fn person(events: &[Envelope]) -> PersonView {
    let mut view = PersonView::new("ann");
    for (seq, envelope) in events.iter().enumerate() {
        view.apply(seq as u64, envelope);
    }
    view.last_seq = 0;
    view
}

fn account_view(events: &[Envelope]) -> AccountView {
    let mut view = AccountView::new("acc");
    for (seq, envelope) in events.iter().enumerate() {
        view.apply(seq as u64, envelope);
    }
    view.last_seq = 0;
    view
}

fn campaign_view(events: &[Envelope]) -> CampaignView {
    let mut view = CampaignView::new("web");
    for (seq, envelope) in events.iter().enumerate() {
        view.apply(seq as u64, envelope);
    }
    view.last_seq = 0;
    view
}

fn status(person: &str, status: LeadStatus) -> LeadUpdated {
    LeadUpdated {
        status: Some(status),
        ..lead_updated(person)
    }
}

#[test]
fn a_leads_source_status_owner_and_account_do_not_depend_on_arrival() {
    let view = in_any_order(
        &[
            envelope("created", 10, lead("ann").at_account("acc-a")),
            // A repeated creation, later, with a source: the earliest
            // creation that names one gives the source.
            envelope(
                "again",
                20,
                lead("ann").with_source(lead_source("web", "google")),
            ),
            envelope("working", 30, status("ann", LeadStatus::Working)),
            envelope("qualified", 40, status("ann", LeadStatus::Qualified)),
            envelope("to-b", 50, converted("ann", "acc-b")),
            envelope("to-none", 60, converted("ann", "")),
            envelope("owner", 35, routed("ann", "rep-1")),
        ],
        person,
    );
    assert_eq!(view.status, Some(LeadStatus::Qualified));
    assert_eq!(view.qualified_at, Some(at(40)));
    assert_eq!(view.source, Some(lead_source("web", "google")));
    assert_eq!(view.lead_created_at, Some(at(10)));
    assert_eq!(view.account_id, "acc-b", "the latest conversion naming one");
    assert_eq!(view.converted.map(|c| c.converted_at), Some(at(60)));
    assert_eq!(view.owner_id, "rep-1");
}

#[test]
fn a_persons_deals_are_listed_in_id_order() {
    let view = in_any_order(
        &[
            envelope(
                "o2",
                10,
                opportunity("opp-2", "acc", 1_00).with_contact("ann"),
            ),
            envelope(
                "o1",
                20,
                opportunity("opp-1", "acc", 1_00).with_contact("ann"),
            ),
            envelope("role", 30, contact_role("opp-3", "ann", "influencer")),
        ],
        person,
    );
    assert_eq!(view.opportunity_ids, ["opp-1", "opp-2", "opp-3"]);
}

#[test]
fn an_accounts_description_is_the_latest_and_a_correction_replaces_a_transaction() {
    let view = in_any_order(
        &[
            envelope("old", 10, account("acc", "Old name")),
            envelope("new", 20, account("acc", "New name")),
            envelope("t1", 30, transaction("txn-1", "acc", 100_00)),
            // The same transaction, corrected later.
            envelope("t1-fix", 40, transaction("txn-1", "acc", 120_00)),
            envelope("t2", 30, transaction("txn-2", "acc", 5_00)),
            envelope("bob", 15, lead("bob").at_account("acc")),
            envelope("ann", 16, lead("ann").at_account("acc")),
        ],
        account_view,
    );
    assert_eq!(view.name, "New name");
    let booked: Vec<(&str, i64)> = view
        .transactions
        .iter()
        .map(|t| (t.transaction_id.as_str(), t.amount.amount_minor))
        .collect();
    assert_eq!(booked, [("txn-2", 5_00), ("txn-1", 120_00)]);
    assert_eq!(view.contact_ids, ["ann", "bob"]);
}

#[test]
fn a_campaigns_description_is_the_latest_upsert_and_its_costs_are_all_counted() {
    let view = in_any_order(
        &[
            envelope(
                "v1",
                10,
                CampaignUpserted {
                    planned_cost: Some(eur(900_00)),
                    ..campaign("web", 0)
                },
            ),
            envelope(
                "v2",
                20,
                CampaignUpserted {
                    name: "Web, renamed".into(),
                    planned_cost: Some(eur(1_200_00)),
                    ..campaign("web", 0)
                },
            ),
            envelope("c1", 30, cost("web", 10_00)),
            envelope("c2", 25, cost("web", 20_00)),
        ],
        campaign_view,
    );
    assert_eq!(view.name, "Web, renamed");
    assert_eq!(view.planned_cost, Some(eur(1_200_00)));
    assert_eq!(view.costs.len(), 2);
}

#[test]
fn a_leads_identity_is_the_earliest_creations_and_its_answers_the_latest() {
    let answer = |need: Option<bool>, budget: Option<bool>| LeadUpdated {
        qualification: Some(Qualification {
            need,
            budget,
            authority: None,
        }),
        ..lead_updated("ann")
    };
    let view = in_any_order(
        &[
            envelope("first", 10, lead("ann").with_email("ann@old.example")),
            envelope(
                "second",
                20,
                LeadCreated {
                    first_name: "Ann".into(),
                    ..lead("ann").with_email("ann@new.example")
                },
            ),
            envelope("no", 30, answer(Some(false), Some(true))),
            envelope("yes", 40, answer(Some(true), None)),
        ],
        person,
    );
    assert_eq!(view.email, "ann@old.example");
    assert_eq!(
        view.first_name, "Ann",
        "a later creation fills what it names"
    );
    assert_eq!(view.qualification.need, Some(true));
    assert_eq!(view.qualification.budget, Some(true));
}

// ------------------------------------------------------------------ deals

const OPP: &str = "opp-1";

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

fn closed_won(minor: i64) -> Event {
    Event::OpportunityClosed(OpportunityClosed {
        opportunity_id: OPP.into(),
        won: true,
        amount: eur(minor),
        partner_id: String::new(),
    })
}

/// The view `events` fold to in this order, without the log positions
/// (which are the arrival order itself).
fn deal(events: &[Envelope]) -> OpportunityView {
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

fn stages(view: &OpportunityView) -> Vec<&str> {
    view.stage_changes().map(|c| c.stage.as_str()).collect()
}

#[test]
fn the_latest_update_sets_the_stage_whatever_arrives_first() {
    let view = in_any_order(
        &[
            envelope("c", 10, created("qualification", 100_00, 10)),
            envelope("u1", 30, updated(Some("negotiation"), None, Some(75))),
            envelope("u2", 20, updated(Some("proposal"), Some(200_00), Some(50))),
            // Same time as u2: the event id breaks the tie.
            envelope("u3", 20, updated(None, Some(300_00), None)),
            envelope("u4", 40, updated(None, None, None)),
        ],
        deal,
    );
    assert_eq!(view.stage, "negotiation");
    assert_eq!(view.probability_pct, 75);
    assert_eq!(view.amount, Some(eur(300_00)));
    assert_eq!(stages(&view), ["qualification", "proposal", "negotiation"]);
    assert!(view.closed.is_none());
}

#[test]
fn a_close_holds_against_earlier_changes_and_yields_to_later_ones() {
    let before_close = [
        envelope("c", 10, created("qualification", 100_00, 10)),
        envelope("u1", 20, updated(Some("proposal"), None, Some(50))),
        envelope("w", 30, closed_won(90_00)),
        envelope("late", 25, updated(Some("negotiation"), None, Some(80))),
    ];
    let view = in_any_order(&before_close, deal);
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
    reopened.push(envelope(
        "reopen",
        40,
        updated(Some("negotiation"), None, None),
    ));
    let view = in_any_order(&reopened, deal);
    assert_eq!(view.stage, "negotiation");
    assert!(view.closed.is_none(), "a change after the close reopens it");
    assert_eq!(view.probability_pct, 100, "no later event set it");
}

#[test]
fn updates_before_the_creation_keep_their_later_values() {
    let view = in_any_order(
        &[
            envelope("u", 20, updated(Some("proposal"), Some(500_00), None)),
            envelope("c", 10, created("qualification", 100_00, 10)),
            envelope("same", 20, updated(Some("proposal"), None, Some(40))),
        ],
        deal,
    );
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
    let bob = envelope("bob", 5, role("bob", "decision maker"));
    let cy = envelope("cy", 7, role("cy", "influencer"));
    // cy's role known before the merge of cy into bob...
    let mut before = OpportunityView::new(OPP);
    before.apply(1, &bob);
    before.apply(2, &cy);
    before.replace_contact("cy", "bob");
    // ...and arriving after it, for bob.
    let mut after = OpportunityView::new(OPP);
    after.apply(1, &bob);
    after.replace_contact("cy", "bob");
    after.apply(2, &envelope("cy", 7, role("bob", "influencer")));
    assert_eq!(before.contact_roles, after.contact_roles);
    assert_eq!(before.contact_roles[0].role, "influencer", "the later role");
}
