//! An engine over a store for the tests, the generated data set, and what a
//! user can see of a store, for comparing two.

use std::sync::Arc;

use touchline_attribution::Model;
use touchline_core::*;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{Batch, Engine, EngineConfig, Queries};
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView, RoutingRule,
    RoutingRules,
};
use touchline_store::{Store, Table};

/// Every model, and routing rules for the generator's leads without an owner.
pub fn config() -> EngineConfig {
    let rule = |name: &str, owner: &str, kind: OwnerKind, mediums: &[&str]| RoutingRule {
        mediums: mediums.iter().map(|m| (*m).to_owned()).collect(),
        ..RoutingRule::to(name, owner, kind)
    };
    EngineConfig {
        routing: RoutingRules {
            rules: vec![
                rule("partners", "partner-acme", OwnerKind::Partner, &["partner"]),
                rule("rest", "inside-sales", OwnerKind::Internal, &[]),
            ],
            ..RoutingRules::default()
        },
        ..EngineConfig::default()
    }
}

pub fn open(dir: &std::path::Path) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let engine = Engine::open(store.clone(), config()).expect("open engine");
    (engine, Queries::new(store))
}

pub fn dataset(accounts: usize) -> Vec<Envelope> {
    Generator::new(DatasetConfig {
        accounts,
        ..DatasetConfig::default()
    })
    .collect()
}

pub fn apply_in_batches(engine: &mut Engine, events: &[Envelope], size: usize) {
    for chunk in events.chunks(size) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("apply");
    }
}

/// Everything a user can see, minus versions (which count publications and so
/// depend on batching by design): people, conversions, and the opportunity,
/// campaign and account views.
pub type Snapshot = (
    Vec<(String, PersonView)>,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

pub fn snapshot(store: &Store) -> Snapshot {
    let mut persons = Vec::new();
    store
        .for_each(Table::Persons, |k, mut v: PersonView| {
            // Log positions are equal too, but say so explicitly: only content counts.
            v.last_seq = 0;
            persons.push((k.to_owned(), v));
        })
        .expect("persons");
    let mut others = Vec::new();
    store
        .for_each(Table::Opportunities, |k, mut v: OpportunityView| {
            v.last_seq = 0;
            others.push((format!("opportunity/{k}"), format!("{v:?}")));
        })
        .expect("opportunities");
    store
        .for_each(Table::Campaigns, |k, mut v: CampaignView| {
            v.last_seq = 0;
            others.push((format!("campaign/{k}"), format!("{v:?}")));
        })
        .expect("campaigns");
    store
        .for_each(Table::Accounts, |k, mut v: AccountView| {
            v.last_seq = 0;
            others.push((format!("account/{k}"), format!("{v:?}")));
        })
        .expect("accounts");
    let mut conversions = Vec::new();
    store
        .for_each(Table::Conversions, |k, v: ConversionView| {
            let credits: Vec<_> = v
                .results
                .iter()
                .map(|r| (r.model, r.attribution.clone()))
                .collect();
            conversions.push((k.to_owned(), format!("{:?} {credits:?}", v.conversion)));
        })
        .expect("conversions");
    (persons, conversions, others)
}

/// The rep alerts waiting in the outbox, in order.
pub fn alerts(store: &Store) -> Vec<String> {
    store
        .outbox(usize::MAX)
        .expect("outbox")
        .into_iter()
        .filter_map(|(_, r)| r.alert)
        .map(|v| String::from_utf8(v).expect("utf-8"))
        .collect()
}

/// An engine computing only first and last touch, for tests about versions.
pub fn open_first_last(dir: &std::path::Path) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let config = EngineConfig {
        models: vec![Model::FirstTouch, Model::LastTouch],
        ..EngineConfig::default()
    };
    let engine = Engine::open(store.clone(), config).expect("open engine");
    (engine, Queries::new(store))
}
