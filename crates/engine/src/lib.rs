//! The engine: turns batches of decoded events into one atomic commit each.
//!
//! For every batch it drops events whose id is already in the log (counted), gives
//! each new event the next global sequence number, folds it into the views it
//! concerns, re-attributes every conversion the batch affected, queues a new
//! version of each changed credit set in the outbox, and records the source
//! offsets the batch covers. All of that goes into one RocksDB `WriteBatch`,
//! written with one fsync. A crash loses the whole batch or nothing; replaying the
//! same input from the stored offsets yields the same state.
//!
//! This crate knows neither Kafka nor HTTP: sources hand it [`Batch`]es, and
//! [`Queries`] reads what it wrote.
//!
//! ```
//! use std::sync::Arc;
//! use touchline_core::*;
//! use touchline_engine::{Batch, Engine, EngineConfig, Queries};
//! use touchline_store::Store;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Arc::new(Store::open(dir.path()).unwrap());
//! let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
//! let at = |ms| Timestamp::from_millis(ms);
//! let events = vec![
//!     Envelope { event_id: "t1".into(), occurred_at: at(10), recorded_at: at(10), source_system: "web".into(),
//!         event: Event::TouchRecorded(TouchRecorded { person_id: "p".into(), campaign_id: "ads".into(),
//!             touch_type: TouchType::AdClick, status: TouchStatus::Responded, asset: String::new(), topic: String::new(), provenance: None }) },
//!     Envelope { event_id: "l1".into(), occurred_at: at(20), recorded_at: at(20), source_system: "crm".into(),
//!         event: Event::LeadCreated(LeadCreated { person_id: "p".into(), email: String::new(), phone: String::new(),
//!             first_name: String::new(), last_name: String::new(), company: String::new(),
//!             account_id: String::new(), source: None, owner_id: String::new() }) },
//! ];
//! let outcome = engine.apply(Batch { events: events.clone(), ..Batch::default() }).unwrap();
//! assert_eq!(outcome.appended, 2);
//! // The same events again are counted duplicates and change nothing.
//! assert_eq!(engine.apply(Batch { events, ..Batch::default() }).unwrap().duplicates, 2);
//! let queries = Queries::new(store);
//! let credits = queries.conversion("lead_created:p").unwrap().unwrap();
//! assert_eq!(credits.results[0].attribution.credits[0].campaign_id, "ads");
//! ```

mod apply;
pub mod as_of;
pub mod data_driven;
pub mod history;
mod journey;
mod members;
mod message;
mod metrics;
mod partitions;
mod pipeline;
mod queries;
mod sink;
pub mod stores;
mod synthesized;
pub mod what_if;

pub use apply::{
    Batch, BatchOutcome, ConflictingDuplicate, Durable, Engine, EngineConfig, Handover,
    InMemoryEngine, MessageSource, MetaWrite, MovedConversion, REBUILD_IN_MEMORY_EVENTS,
};
pub use members::{Member, Members};
pub use message::{
    ActivityAlert, AttributionMessage, AttributionRenderer, OpenOpportunity, PublishedAttribution,
    PublishedConversion, PublishedCredit, PublishedMilestones, attribution_key, render_attribution,
};
pub use metrics::{
    BatchTimings, CodeLabels, Metrics, MetricsSnapshot, OPENMETRICS_CONTENT_TYPE, ReasonLabels,
};
pub use partitions::{
    ConsumerStatus, Coverage, PartitionStatistics, PartitionStatus, Partitions, Readiness, Stall,
    StalledPartition,
};
pub use pipeline::{PipelineConfig, StageProbability};
pub use queries::{
    AccountRecord, CampaignCredit, CampaignPerformance, ContactSummary, CustomerRfm, DueFollowUp,
    DuplicateGroup, Forecast, ForecastDeal, ForecastRow, FunnelRow, GroupBy, GroupCredit,
    Indicator, InfluenceCredit, InfluenceQuery, InfluenceSort, Influenced, InterestRow, LeadScore,
    LiteratureRow, MinorTotal, ModelComparison, ModelCredit, MoneyTotal, OpportunitySignals,
    OverdueLead, PrioritisedLead, Queries, Ratio, RfmReport, ScoringConfig, SourceRfm, SpeedToLead,
    TimeRange, UnattributedRow, UpsellSignal, indicator_colour,
};
pub use sink::{EngineSink, EventSink};
pub use stores::{HeldShards, Peers, ShardAnswer, ShardRead, ShardedView, Stores};

/// Errors of the engine. Every one comes from I/O (the store or the writer
/// thread); the engine's own logic cannot fail.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] touchline_store::StoreError),
    #[error("store writer: {0}")]
    Writer(String),
    #[error("an earlier write failed ({0}); reopen the store to continue from what is durable")]
    Poisoned(String),
}
