//! Every report read from the shards of a sharded group as one
//! ([`Queries::sharded`]) is the report one engine over all the events gives:
//! the same rows, in the same order, with the same numbers. Log positions
//! (each shard numbers its own log) and credit-set versions (they count
//! recomputations, which batching changes) are left out of the comparison.

use std::collections::BTreeMap;
use std::sync::Arc;

use touchline_attribution::{AttributionSettings, ConversionKind, Model, OpportunityTouches};
use touchline_core::{Envelope, Timestamp};
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::data_driven::{DataDrivenModel, Granularity};
use touchline_engine::what_if::{SettingsChange, WhatIfRequest};
use touchline_engine::{
    GroupBy, HeldShards, InfluenceQuery, InfluenceSort, PipelineConfig, Queries, ScoringConfig,
    TimeRange,
};
use touchline_fixtures::cross_shard_world;
use touchline_projection::RoutingRules;

mod common;
use common::shards::{Shard, config, route};

/// A report as JSON, with log positions (`seq`, `last_seq`, `as_of_seq`)
/// and versions (`version`, `retired`) taken out.
fn json(value: &impl serde::Serialize) -> String {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| {
                    !matches!(
                        k.as_str(),
                        "seq" | "last_seq" | "as_of_seq" | "version" | "retired"
                    )
                });
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(value).expect("a report serializes");
    strip(&mut value);
    serde_json::to_string_pretty(&value).expect("json")
}

/// Every report the API serves from `queries`, named, as JSON.
fn reports(queries: &Queries, settings: &AttributionSettings) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |name: String, value: String| {
        out.insert(name, value);
    };
    let all = TimeRange::default();
    let at = Timestamp::from_millis(4_102_444_800_000); // 2100-01-01
    let campaigns = queries.campaigns().expect("campaigns");
    put("campaigns".into(), json(&campaigns));
    for kind in ConversionKind::ALL {
        for model in Model::ALL {
            let name = format!("{}/{}", kind.name(), model.name());
            put(
                format!("credits {name}"),
                json(&queries.campaign_credits(model, kind).expect("credits")),
            );
            put(
                format!("unattributed {name}"),
                json(
                    &queries
                        .unattributed(model, kind, all)
                        .expect("unattributed"),
                ),
            );
            for by in [GroupBy::Channel, GroupBy::Source] {
                put(
                    format!("credits by {by:?} {name}"),
                    json(&queries.credits_by(model, kind, all, by).expect("by")),
                );
            }
        }
        put(
            format!("compare {}", kind.name()),
            json(&queries.compare_models(kind, all, None).expect("compare")),
        );
        let what_if = WhatIfRequest {
            models: Vec::new(),
            kind,
            range: all,
            by: GroupBy::Channel,
            change: SettingsChange::default(),
            moved: None,
        };
        put(
            format!("what-if {}", kind.name()),
            json(&queries.what_if(&what_if).expect("what-if")),
        );
        for model in [
            DataDrivenModel::Markov { order: 1 },
            DataDrivenModel::Shapley,
        ] {
            put(
                format!("data-driven {model:?} {}", kind.name()),
                json(
                    &queries
                        .data_driven(model, kind, all, Granularity::Channel, settings)
                        .expect("data-driven"),
                ),
            );
        }
        for campaign in &campaigns {
            let query = InfluenceQuery {
                campaign_id: campaign.campaign_id.clone(),
                kind,
                range: all,
                currency: None,
                sort: InfluenceSort::Value,
            };
            put(
                format!("influence {} {}", campaign.campaign_id, kind.name()),
                json(&queries.campaign_influence(&query).expect("influence")),
            );
        }
    }
    for currency in ["EUR", "USD"] {
        for model in [Model::FirstTouch, Model::Linear, Model::WShaped] {
            put(
                format!("performance {currency} {}", model.name()),
                json(
                    &queries
                        .campaign_performance(model, all, currency)
                        .expect("performance"),
                ),
            );
            put(
                format!("booked {currency} {}", model.name()),
                json(
                    &queries
                        .booked_by_campaign(model, all, currency)
                        .expect("booked"),
                ),
            );
        }
    }
    put("funnel".into(), json(&queries.funnel(all).expect("funnel")));
    put(
        "duplicates".into(),
        json(&queries.duplicate_candidates().expect("duplicates")),
    );
    put(
        "overdue".into(),
        json(
            &queries
                .overdue_leads(at, &RoutingRules::default(), None)
                .expect("overdue"),
        ),
    );
    put(
        "follow-ups".into(),
        json(&queries.follow_ups_due(at, None).expect("follow-ups")),
    );
    put(
        "speed".into(),
        json(&queries.speed_to_lead(all).expect("speed")),
    );
    put(
        "forecast".into(),
        json(
            &queries
                .forecast(&PipelineConfig::default())
                .expect("forecast"),
        ),
    );
    put(
        "scores".into(),
        json(
            &queries
                .lead_scores(&ScoringConfig::default(), at, None, 1_000)
                .expect("scores"),
        ),
    );
    put("rfm".into(), json(&queries.rfm(at).expect("rfm")));
    put(
        "upsell".into(),
        json(&queries.upsell_signals().expect("upsell")),
    );
    put(
        "literature".into(),
        json(&queries.literature().expect("literature")),
    );
    put(
        "signals".into(),
        json(&queries.opportunity_signals(at).expect("signals")),
    );
    put(
        "priority".into(),
        json(&queries.prioritised_leads(None, 1_000).expect("priority")),
    );
    out
}

/// The same, for every person, account and conversion one engine holds.
fn lookups(queries: &Queries, one: &Queries) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut people = Vec::new();
    one.stores()
        .for_each(|id, _: touchline_projection::PersonView| people.push(id.to_owned()))
        .expect("people");
    for id in &people {
        let person = queries.person(id).expect("person");
        let source = person
            .as_ref()
            .map(|p| queries.source_at_first_contact(p).expect("source"));
        out.insert(format!("person {id}"), json(&(&person, source)));
        out.insert(
            format!("touches {id}"),
            json(&queries.person_touches(id).expect("touches")),
        );
        out.insert(
            format!("survivor {id}"),
            json(&queries.surviving_person(id).expect("survivor")),
        );
    }
    let mut accounts = Vec::new();
    one.stores()
        .for_each(|id, _: touchline_projection::AccountView| accounts.push(id.to_owned()))
        .expect("accounts");
    for id in &accounts {
        let record = queries
            .account_record(id, 1_000)
            .expect("account")
            .map(|r| {
                let history: Vec<String> = r
                    .history
                    .iter()
                    .map(|e| format!("{:?}", e.envelope))
                    .collect();
                json(&(
                    r.account,
                    r.contacts,
                    r.opportunities,
                    r.revenue,
                    history,
                    r.customer_since,
                    r.returning_leads,
                ))
            });
        out.insert(format!("account {id}"), json(&record));
        out.insert(
            format!("interest {id}"),
            json(&queries.account_interest(id).expect("interest")),
        );
    }
    let mut conversions = Vec::new();
    one.stores()
        .for_each(|id, _: touchline_projection::ConversionView| conversions.push(id.to_owned()))
        .expect("conversions");
    for id in &conversions {
        out.insert(
            format!("conversion {id}"),
            json(&queries.conversion(id).expect("conversion")),
        );
        let history = touchline_engine::history::conversion_history(queries, id)
            .expect("history")
            .map(|h| (h.steps.len(), json(&h.stored), h.matches_stored));
        out.insert(format!("history {id}"), json(&history));
    }
    out
}

fn check(events: &[Envelope], touches: OpportunityTouches, counts: &[u32]) {
    let config = config(touches);
    let mut single = Shard::open(&config);
    for envelope in events {
        single.send(envelope.clone(), 1_000);
    }
    single.flush();
    let one = Queries::new(single.store.clone());
    let mut want = reports(&one, &config.settings);
    want.extend(lookups(&one, &one));
    for &count in counts {
        let routed = route(events, count, 3, &config);
        let held = Arc::new(HeldShards::default());
        for (shard, s) in routed.shards.iter().enumerate() {
            held.hold(shard as u32, s.store.clone());
        }
        let sharded = Queries::sharded(held);
        let mut got = reports(&sharded, &config.settings);
        got.extend(lookups(&sharded, &one));
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>()
        );
        for (name, report) in &want {
            assert!(
                *report == got[name],
                "{touches:?}, {count} shards: {name} differs\nwant {report}\n got {}",
                got[name]
            );
        }
    }
}

#[test]
fn the_cross_shard_world_reports_alike_over_any_number_of_shards() {
    for touches in [
        OpportunityTouches::ContactRoles,
        OpportunityTouches::AccountContacts,
    ] {
        check(&cross_shard_world(), touches, &[1, 2, 3, 4]);
    }
}

#[test]
fn a_generated_history_reports_alike_over_three_shards() {
    let events: Vec<Envelope> = Generator::new(DatasetConfig {
        accounts: 40,
        seed: 7,
        ..DatasetConfig::default()
    })
    .collect();
    check(&events, OpportunityTouches::AccountContacts, &[3]);
}
