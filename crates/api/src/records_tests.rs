//! The answers' JSON (opportunity, campaign, account, person, lead) pinned
//! for fixtures folded through the projections: a field added to a stored
//! view or to an entry nested in one changes none of them until it is added
//! to the boundary type (and to the OpenAPI schema beside it).

use expect_test::{Expect, expect};
use touchline_core::{
    AccountUpserted, CampaignType, CampaignUpserted, ContactMethod, Envelope, FollowUpLogged,
    LeadCreated, LeadRouted, OpportunityCreated, TouchRecorded, TouchStatus, TouchType,
    TransactionRecorded,
};
use touchline_fixtures::*;
use touchline_projection::{AlertEntry, PersonKind, PersonView, TouchHistory};

use crate::LeadSummary;
use crate::persons::Person;
use touchline_store::StoredEvent;

use super::*;

fn pinned(body: impl Serialize, expect: Expect) {
    expect.assert_eq(&serde_json::to_string_pretty(&body).expect("json"));
}

/// `events` with their log positions, 1 on.
fn logged(events: Vec<Envelope>) -> Vec<StoredEvent> {
    events
        .into_iter()
        .zip(1..)
        .map(|(envelope, seq)| StoredEvent { seq, envelope })
        .collect()
}

/// A deal of `acc-1` that moved a stage, got a decision maker, was won and paid.
fn won_deal() -> OpportunityView {
    let mut view = OpportunityView::new("opp-1");
    for event in &won_deal_events() {
        view.apply(event.seq, &event.envelope);
    }
    view
}

fn won_deal_events() -> Vec<StoredEvent> {
    logged(vec![
        envelope(
            "o1",
            1_000,
            OpportunityCreated {
                name: "Analytical engine".into(),
                owner_id: "rep-1".into(),
                ..opportunity("opp-1", "acc-1", 50_000_00).with_contact("p-1")
            },
        ),
        envelope("o2", 2_000, stage("opp-1", "proposal")),
        envelope("o3", 3_000, contact_role("opp-1", "p-2", "decision_maker")),
        envelope("o4", 4_000, won("opp-1", 48_000_00)),
        envelope(
            "x1",
            5_000,
            TransactionRecorded {
                opportunity_id: "opp-1".into(),
                description: "first instalment".into(),
                ..transaction("tx-1", "acc-1", 24_000_00)
            },
        ),
    ])
}

#[test]
fn an_opportunity_answers_the_documented_fields_only() {
    pinned(
        Opportunity::of(&won_deal()),
        expect![[r#"
        {
          "opportunity_id": "opp-1",
          "account_id": "acc-1",
          "name": "Analytical engine",
          "created_at": "1970-01-01T00:00:01.000Z",
          "stage": "closed_won",
          "stage_history": [
            {
              "stage": "qualification",
              "at": "1970-01-01T00:00:01.000Z",
              "seq": 1
            },
            {
              "stage": "proposal",
              "at": "1970-01-01T00:00:02.000Z",
              "seq": 2
            },
            {
              "stage": "closed_won",
              "at": "1970-01-01T00:00:04.000Z",
              "seq": 4
            }
          ],
          "amount": {
            "amount_minor": 5000000,
            "currency": "EUR"
          },
          "probability_pct": 100,
          "expected_close_at": null,
          "primary_contact_id": "p-1",
          "contact_ids": [
            "p-1",
            "p-2"
          ],
          "contact_roles": [
            {
              "person_id": "p-1",
              "role": "primary"
            },
            {
              "person_id": "p-2",
              "role": "decision_maker"
            }
          ],
          "owner_id": "rep-1",
          "partner_id": "",
          "closed": {
            "won": true,
            "amount": {
              "amount_minor": 4800000,
              "currency": "EUR"
            },
            "closed_at": "1970-01-01T00:00:04.000Z",
            "partner_id": ""
          },
          "transactions": [
            {
              "transaction_id": "tx-1",
              "opportunity_id": "opp-1",
              "amount": {
                "amount_minor": 2400000,
                "currency": "EUR"
              },
              "at": "1970-01-01T00:00:05.000Z",
              "description": "first instalment"
            }
          ],
          "last_seq": 5
        }"#]],
    );
}

#[test]
fn a_campaign_answers_the_documented_fields_only() {
    let mut view = CampaignView::new("search");
    let events = logged(vec![
        envelope(
            "c1",
            1_000,
            CampaignUpserted {
                name: "Google Ads".into(),
                channel: "paid_search".into(),
                medium: "cpc".into(),
                source: "google".into(),
                ad_code: "GA-1".into(),
                campaign_type: CampaignType::Advertisement,
                planned_cost: Some(eur(1_000_00)),
                ends_at: Some(at(9_000)),
                ..campaign("search", 1_000)
            },
        ),
        envelope("k1", 2_000, cost("search", 400_00)),
        envelope(
            "t1",
            3_000,
            TouchRecorded {
                status: TouchStatus::Responded,
                ..touch("p-1", "search").of_type(TouchType::AdClick)
            },
        ),
    ]);
    for event in &events {
        view.apply(event.seq, &event.envelope);
    }
    // The engine keeps these across views, not the campaign's fold.
    view.members = 1;
    view.responders = 1;
    view.leads_sourced = 1;
    pinned(
        Campaign::of(&view),
        expect![[r#"
        {
          "campaign_id": "search",
          "name": "Google Ads",
          "channel": "paid_search",
          "medium": "cpc",
          "source": "google",
          "ad_code": "GA-1",
          "campaign_type": "advertisement",
          "parent_campaign_id": "",
          "starts_at": "1970-01-01T00:00:01.000Z",
          "ends_at": "1970-01-01T00:00:09.000Z",
          "planned_cost": {
            "amount_minor": 100000,
            "currency": "EUR"
          },
          "actual_cost": [
            {
              "amount_minor": 40000,
              "currency": "EUR"
            }
          ],
          "costs": [
            {
              "at": "1970-01-01T00:00:02.000Z",
              "event_id": "k1",
              "cost": {
                "amount_minor": 40000,
                "currency": "EUR"
              }
            }
          ],
          "touches": 1,
          "responses": 1,
          "members": 1,
          "responders": 1,
          "leads_sourced": 1,
          "last_seq": 3
        }"#]],
    );
}

#[test]
fn an_account_record_answers_the_documented_fields_only() {
    let events = logged(vec![
        envelope(
            "a1",
            500,
            AccountUpserted {
                industry: "engines".into(),
                owner_id: "rep-1".into(),
                ..account("acc-1", "Analytical")
            },
        ),
        envelope(
            "o1",
            1_000,
            OpportunityCreated {
                name: "Analytical engine".into(),
                ..opportunity("opp-1", "acc-1", 50_000_00).with_contact("p-1")
            },
        ),
    ]);
    let mut view = AccountView::new("acc-1");
    for event in &events {
        view.apply(event.seq, &event.envelope);
    }
    view.record_alert(AlertEntry {
        alert_id: "t9/acc-1".into(),
        person_id: "p-1".into(),
        person_name: "Ada Lovelace".into(),
        campaign_id: "webinar".into(),
        touch_type: TouchType::WebinarAttended,
        topic: "pricing".into(),
        occurred_at: at(6_000),
        rep_ids: vec!["rep-1".into()],
        open_opportunity_ids: vec!["opp-1".into()],
        seq: 9,
    });
    let mut deal = OpportunityView::new("opp-1");
    deal.apply(events[1].seq, &events[1].envelope);
    let record = AccountRecord {
        account: view,
        contacts: vec![ContactSummary {
            person_id: "p-1".into(),
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            kind: PersonKind::Contact,
            touches: 1,
            lead_created_at: Some(at(200)),
        }],
        opportunities: vec![deal],
        revenue: {
            let mut revenue = Vec::new();
            MoneyTotal::add_to(&mut revenue, &eur(24_000_00));
            revenue
        },
        history: events[..1].to_vec(),
        customer_since: None,
        returning_leads: vec![],
    };
    pinned(
        AccountBody::of(&record),
        expect![[r#"
        {
          "account": {
            "account_id": "acc-1",
            "name": "Analytical",
            "industry": "engines",
            "owner_id": "rep-1",
            "contact_ids": [
              "p-1"
            ],
            "opportunity_ids": [
              "opp-1"
            ],
            "transactions": [],
            "recent_alerts": [
              {
                "alert_id": "t9/acc-1",
                "person_id": "p-1",
                "person_name": "Ada Lovelace",
                "campaign_id": "webinar",
                "touch_type": "webinar_attended",
                "topic": "pricing",
                "occurred_at": "1970-01-01T00:00:06.000Z",
                "rep_ids": [
                  "rep-1"
                ],
                "open_opportunity_ids": [
                  "opp-1"
                ],
                "seq": 9
              }
            ],
            "last_seq": 2
          },
          "contacts": [
            {
              "person_id": "p-1",
              "name": "Ada Lovelace",
              "email": "ada@example.com",
              "kind": "contact",
              "touches": 1,
              "lead_created_at": "1970-01-01T00:00:00.200Z"
            }
          ],
          "opportunities": [
            {
              "opportunity_id": "opp-1",
              "account_id": "acc-1",
              "name": "Analytical engine",
              "created_at": "1970-01-01T00:00:01.000Z",
              "stage": "qualification",
              "stage_history": [
                {
                  "stage": "qualification",
                  "at": "1970-01-01T00:00:01.000Z",
                  "seq": 2
                }
              ],
              "amount": {
                "amount_minor": 5000000,
                "currency": "EUR"
              },
              "probability_pct": 20,
              "expected_close_at": null,
              "primary_contact_id": "p-1",
              "contact_ids": [
                "p-1"
              ],
              "contact_roles": [
                {
                  "person_id": "p-1",
                  "role": "primary"
                }
              ],
              "owner_id": "",
              "partner_id": "",
              "closed": null,
              "transactions": [],
              "last_seq": 2
            }
          ],
          "revenue": [
            {
              "amount_minor": 2400000,
              "currency": "EUR"
            }
          ],
          "customer_since": null,
          "returning_leads": [],
          "history": [
            {
              "seq": 1,
              "event_id": "a1",
              "occurred_at": "1970-01-01T00:00:00.500Z",
              "recorded_at": "1970-01-01T00:00:00.500Z",
              "source_system": "test",
              "payload": {
                "type": "account_upserted",
                "account_id": "acc-1",
                "name": "Analytical",
                "industry": "engines",
                "owner_id": "rep-1",
                "parent_account_id": ""
              }
            }
          ]
        }"#]],
    );
}

/// A lead that touched a campaign, was routed by a rule, followed up and
/// converted.
fn followed_up_lead() -> (PersonView, TouchHistory) {
    let mut view = PersonView::new("p-1");
    let mut history = TouchHistory::read(Vec::new());
    let events = logged(vec![
        envelope(
            "l1",
            1_000,
            LeadCreated {
                email: "Ada@Example.com".into(),
                company: "Analytical".into(),
                ..lead("p-1")
                    .owned_by("rep-1")
                    .with_source(lead_source("search", "google"))
            },
        ),
        envelope(
            "t1",
            2_000,
            TouchRecorded {
                topic: "pricing".into(),
                ..touch("p-1", "search")
            },
        ),
        envelope(
            "r1",
            3_000,
            LeadRouted {
                rule: "by-region".into(),
                reason: "region eu".into(),
                ..routed("p-1", "rep-2")
            },
        ),
        envelope(
            "f1",
            4_000,
            FollowUpLogged {
                outcome: "interested".into(),
                next_due_at: Some(at(9_000)),
                owner_id: "rep-2".into(),
                ..follow_up("p-1", ContactMethod::Call)
            },
        ),
        envelope("c1", 5_000, converted("p-1", "acc-1")),
    ]);
    for event in &events {
        view.apply_with(event.seq, &event.envelope, &mut history)
            .expect("a fold over read rows");
    }
    (view, history)
}

#[test]
fn a_person_answers_the_documented_fields_only() {
    let (view, history) = followed_up_lead();
    let touches = history.rows().expect("read rows");
    pinned(
        Person::of(&view, touches, touches.len(), None),
        expect![[r#"
            {
              "person_id": "p-1",
              "kind": "contact",
              "email": "ada@example.com",
              "phone": "",
              "first_name": "",
              "last_name": "",
              "company": "Analytical",
              "account_id": "acc-1",
              "owner_id": "rep-2",
              "owner_kind": "internal",
              "routing": [
                {
                  "event_id": "r1",
                  "at": "1970-01-01T00:00:03.000Z",
                  "owner_id": "rep-2",
                  "owner_kind": "internal",
                  "rule": "by-region",
                  "reason": "region eu"
                }
              ],
              "lead_created_at": "1970-01-01T00:00:01.000Z",
              "source": {
                "campaign_id": "search",
                "ad_code": "",
                "medium": "",
                "source": "google"
              },
              "status": "new",
              "qualified_at": null,
              "qualification": {
                "need": null,
                "budget": null,
                "authority": null
              },
              "touches": [
                {
                  "seq": 2,
                  "event_id": "t1",
                  "campaign_id": "search",
                  "touch_type": "email_click",
                  "status": "responded",
                  "asset": "",
                  "topic": "pricing",
                  "occurred_at": "1970-01-01T00:00:02.000Z",
                  "recorded_at": "1970-01-01T00:00:02.000Z",
                  "provenance": {
                    "origin": "recorded",
                    "source": ""
                  }
                }
              ],
              "touch_count": 1,
              "touches_next_offset": null,
              "touches_set_aside": 0,
              "converted": {
                "converted_at": "1970-01-01T00:00:05.000Z",
                "account_id": "acc-1",
                "opportunity_id": ""
              },
              "follow_ups": [
                {
                  "event_id": "f1",
                  "at": "1970-01-01T00:00:04.000Z",
                  "method": "call",
                  "outcome": "interested",
                  "next_due_at": "1970-01-01T00:00:09.000Z",
                  "owner_id": "rep-2"
                }
              ],
              "opportunity_ids": [],
              "accounts": [],
              "merged_into": null,
              "merged_from": [],
              "last_seq": 5
            }"#]],
    );
}

#[test]
fn a_lead_summary_answers_the_documented_fields_only() {
    let (view, _) = followed_up_lead();
    pinned(
        LeadSummary::of(&view, Some("p-0".into()), view.source.clone()),
        expect![[r#"
            {
              "person_id": "p-1",
              "merged_from": "p-0",
              "kind": "contact",
              "email": "ada@example.com",
              "company": "Analytical",
              "owner_id": "rep-2",
              "owner_kind": "internal",
              "status": "new",
              "qualification": {
                "need": null,
                "budget": null,
                "authority": null
              },
              "lead_created_at": "1970-01-01T00:00:01.000Z",
              "source_at_first_contact": {
                "campaign_id": "search",
                "ad_code": "",
                "medium": "",
                "source": "google"
              },
              "first_touch": {
                "seq": 2,
                "event_id": "t1",
                "campaign_id": "search",
                "touch_type": "email_click",
                "status": "responded",
                "asset": "",
                "topic": "pricing",
                "occurred_at": "1970-01-01T00:00:02.000Z",
                "recorded_at": "1970-01-01T00:00:02.000Z",
                "provenance": {
                  "origin": "recorded",
                  "source": ""
                }
              },
              "last_touch": {
                "seq": 2,
                "event_id": "t1",
                "campaign_id": "search",
                "touch_type": "email_click",
                "status": "responded",
                "asset": "",
                "topic": "pricing",
                "occurred_at": "1970-01-01T00:00:02.000Z",
                "recorded_at": "1970-01-01T00:00:02.000Z",
                "provenance": {
                  "origin": "recorded",
                  "source": ""
                }
              },
              "touch_count": 1,
              "converted": {
                "converted_at": "1970-01-01T00:00:05.000Z",
                "account_id": "acc-1",
                "opportunity_id": ""
              },
              "opportunity_ids": []
            }"#]],
    );
}
