//! The as-of report: per campaign, channel or source, the credit one model
//! gave then (the conversions rebuilt from the events recorded by the
//! instant) and gives now (the live views), the difference, and per reason
//! how many conversions in the group moved. The scan and the rebuild are
//! here; the sums are [`super::groups`].
//!
//! The past is rebuilt with the store's own attribution configuration, so a
//! move is always the inputs' (a late touch, a merge, ...), never a model's;
//! the live store is only read. Asked to count synthesized touches otherwise
//! than configured, both sides change alike: the past is rebuilt under that
//! choice and the live credits are computed in it (`crate::synthesized`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use touchline_attribution::{ConversionKind, Credit, Model, NO_TOUCH, SynthesizedTouches};
use touchline_core::Timestamp;
use touchline_projection::{CampaignView, ConversionView};

use super::groups::{GroupLabel, GroupShare, Grouped, distance, group_rows};
use super::{AsOfError, AsOfRow, AsOfTotal, MoveReason, Moved, Sides, rebuild_as_of_bounded};
use crate::{EngineConfig, EngineError, GroupBy, Queries, TimeRange};

/// One as-of question.
#[derive(Debug, Clone, PartialEq)]
pub struct AsOfRequest {
    /// The instant: the past is the events recorded at or before it.
    pub at: Timestamp,
    pub model: Model,
    pub kind: ConversionKind,
    pub by: GroupBy,
    /// The conversions whose time lies in it, on each side by that side's time.
    pub range: TimeRange,
    /// List this many of the largest moved conversions.
    pub moved_limit: Option<usize>,
    /// Whether synthesized touches count, on both sides; `None`: as
    /// configured (the stored credits). The other choice rebuilds the past
    /// under it and computes the live side on request
    /// ([`Queries::for_each_conversion_counting`]).
    pub synthesized: Option<SynthesizedTouches>,
}

/// An as-of answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsOfReport {
    pub at: Timestamp,
    pub model: Model,
    pub conversion: ConversionKind,
    pub by: GroupBy,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Whether synthesized touches were counted, on both sides.
    pub synthesized_touches: SynthesizedTouches,
    /// One past the last log position the past was rebuilt from: the log's
    /// end when the request began. The live side is the views as read just
    /// after, so an event ingested meanwhile counts as since `at`.
    pub as_of_seq: u64,
    /// The events recorded by `at`, replayed.
    pub events_replayed: usize,
    /// Conversions in the period then and now.
    pub conversions_then: usize,
    pub conversions_now: usize,
    /// Conversions whose credit in the period moved.
    pub moved_conversions: usize,
    /// Per group and currency, the largest change first.
    pub rows: Vec<AsOfRow>,
    /// Per currency.
    pub totals: Vec<AsOfTotal>,
    /// The largest moves, when asked ([`AsOfRequest::moved_limit`]).
    pub moved: Vec<AsOfMoved>,
}

/// One moved conversion, with how much of its credit moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AsOfMoved {
    pub conversion_id: String,
    pub reasons: Vec<MoveReason>,
    /// The currency of its value now (else then); `None` for leads.
    pub currency: Option<String>,
    /// Value that changed campaign, came or went ([`super::groups::distance`]).
    pub moved_minor: i64,
    /// The share of the conversion that did.
    pub moved_share: f64,
    /// Its credits in the period then and now; `None` where it was not in it
    /// (not yet, retracted, or its time outside the period).
    pub then: Option<Vec<Credit>>,
    pub now: Option<Vec<Credit>>,
}

/// A conversion of the period on one side, as far as the report needs it.
#[derive(Debug, Clone, PartialEq)]
struct Side {
    currency: Option<String>,
    credits: Vec<Credit>,
}

impl Queries {
    /// Answers an as-of over this (live) store, rebuilding the past into
    /// `scratch` (an empty directory the caller removes afterwards). Refused
    /// with [`AsOfError::TooLarge`] beyond `max_events` events recorded by
    /// the instant.
    pub fn as_of_report(
        &self,
        request: &AsOfRequest,
        scratch: &Path,
        max_events: usize,
    ) -> Result<AsOfReport, AsOfError> {
        let mut config = EngineConfig {
            models: self
                .configured_models()?
                .unwrap_or_else(|| Model::ALL.to_vec()),
            settings: self.configured_settings()?.unwrap_or_default(),
            routing: Default::default(),
        };
        let synthesized_touches = request
            .synthesized
            .unwrap_or(config.settings.synthesized_touches);
        // The past is rebuilt under the asked choice, so its stored credits
        // are that view; the live side is computed in it when not stored so.
        config.settings.synthesized_touches = synthesized_touches;
        // The log position first, then the live side: events ingested in
        // between are in the live views only, so a race with ingest can only
        // show a move as newer than the instant, never undo one.
        let Some(store) = self.stores().single() else {
            return Err(AsOfError::Sharded);
        };
        let until = store.next_seq()?;
        let now = sides(self, request, request.synthesized)?;
        let (then_queries, replayed) =
            rebuild_as_of_bounded(store, request.at, until, config, scratch, max_events)?;
        let then = sides(&then_queries, request, None)?;

        let explain = Sides {
            then: &then_queries,
            now: self,
            at: request.at,
            same_config: true,
        };
        let mut moved: Vec<Moved> = Vec::new();
        let ids: std::collections::BTreeSet<&String> = then.keys().chain(now.keys()).collect();
        for id in ids {
            let (before, after) = (then.get(id), now.get(id));
            if before == after {
                continue;
            }
            // Explained from the whole views: a conversion whose time left
            // the period is still there on that side.
            let before_view = live_view(&then_queries, id)?;
            let after_view = live_view(self, id)?;
            moved.push(Moved {
                conversion_id: id.clone(),
                model: request.model,
                then: before.map(|s| s.credits.clone()),
                now: after.map(|s| s.credits.clone()),
                reasons: explain.reasons(before_view.as_ref(), after_view.as_ref())?,
            });
        }

        let mut labels = BTreeMap::new();
        let now_grouped = grouped(self, &now, request.by, &mut labels)?;
        let then_grouped = grouped(&then_queries, &then, request.by, &mut labels)?;
        let reasons: BTreeMap<String, Vec<MoveReason>> = moved
            .iter()
            .map(|m| (m.conversion_id.clone(), m.reasons.clone()))
            .collect();
        let (rows, totals) = group_rows(&then_grouped, &now_grouped, &reasons, &labels);

        let moved_conversions = moved.len();
        let listed = match request.moved_limit {
            None => Vec::new(),
            Some(limit) => largest(moved, &then, &now, limit),
        };
        Ok(AsOfReport {
            at: request.at,
            model: request.model,
            conversion: request.kind,
            by: request.by,
            from: request.range.from,
            to: request.range.to,
            synthesized_touches,
            as_of_seq: replayed.as_of_seq,
            events_replayed: replayed.events,
            conversions_then: then.len(),
            conversions_now: now.len(),
            moved_conversions,
            rows,
            totals,
            moved: listed,
        })
    }
}

/// The conversions of the period on one side, with their credits under the
/// model, counting synthesized touches as `choice` says.
fn sides(
    queries: &Queries,
    request: &AsOfRequest,
    choice: Option<SynthesizedTouches>,
) -> Result<BTreeMap<String, Side>, EngineError> {
    let mut out = BTreeMap::new();
    queries.for_each_conversion_counting(request.kind, request.range, choice, |view| {
        let Some(result) = view.result(request.model) else {
            return;
        };
        out.insert(
            view.conversion.id.clone(),
            Side {
                currency: view.conversion.value.as_ref().map(|m| m.currency.clone()),
                credits: result.attribution.credits.clone(),
            },
        );
    })?;
    Ok(out)
}

fn live_view(queries: &Queries, id: &str) -> Result<Option<ConversionView>, EngineError> {
    Ok(queries
        .stores()
        .get::<ConversionView>(id)?
        .filter(ConversionView::is_live))
}

/// One side's conversions with their credit named by group, as that side's
/// campaign records group it (a campaign whose channel changed since moves
/// its credit between channels). Labels come from the first side that
/// names a group: the live one.
fn grouped(
    queries: &Queries,
    side: &BTreeMap<String, Side>,
    by: GroupBy,
    labels: &mut BTreeMap<String, GroupLabel>,
) -> Result<Vec<Grouped>, EngineError> {
    let mut campaigns: HashMap<String, Option<CampaignView>> = HashMap::new();
    let mut out = Vec::with_capacity(side.len());
    for (id, conversion) in side {
        let mut shares = Vec::with_capacity(conversion.credits.len());
        for credit in &conversion.credits {
            let campaign_id = credit.campaign_id.as_str();
            let group = if campaign_id == NO_TOUCH {
                labels
                    .entry(NO_TOUCH.to_owned())
                    .or_insert_with(|| GroupLabel {
                        name: NO_TOUCH.to_owned(),
                        channel: String::new(),
                    });
                NO_TOUCH.to_owned()
            } else {
                if !campaigns.contains_key(campaign_id) {
                    campaigns.insert(campaign_id.to_owned(), queries.campaign(campaign_id)?);
                }
                let campaign = campaigns.get(campaign_id).and_then(Option::as_ref);
                let value = match by {
                    GroupBy::Campaign => campaign_id,
                    GroupBy::Channel => campaign.map_or("", |c| c.channel.as_str()),
                    GroupBy::Source => campaign.map_or("", |c| c.source.as_str()),
                };
                let group = if value.is_empty() { "(none)" } else { value }.to_owned();
                labels.entry(group.clone()).or_insert_with(|| GroupLabel {
                    name: match (by, campaign) {
                        (GroupBy::Campaign, Some(c)) => c.display_name().to_owned(),
                        _ => group.clone(),
                    },
                    channel: match by {
                        GroupBy::Campaign => {
                            campaign.map(|c| c.channel.clone()).unwrap_or_default()
                        }
                        GroupBy::Channel => group.clone(),
                        GroupBy::Source => String::new(),
                    },
                });
                group
            };
            shares.push(GroupShare {
                group,
                weight: credit.weight,
                amount_minor: credit.amount_minor.unwrap_or(0),
            });
        }
        out.push(Grouped {
            conversion_id: id.clone(),
            currency: conversion.currency.clone(),
            shares,
        });
    }
    Ok(out)
}

/// The `limit` moves with the most value moved, then the largest share,
/// then by id.
fn largest(
    moved: Vec<Moved>,
    then: &BTreeMap<String, Side>,
    now: &BTreeMap<String, Side>,
    limit: usize,
) -> Vec<AsOfMoved> {
    let lines = |credits: &Option<Vec<Credit>>| -> Vec<(String, f64, i64)> {
        credits
            .iter()
            .flatten()
            .map(|c| (c.campaign_id.clone(), c.weight, c.amount_minor.unwrap_or(0)))
            .collect()
    };
    let mut out: Vec<AsOfMoved> = moved
        .into_iter()
        .map(|m| {
            let (moved_minor, moved_share) = distance(&lines(&m.then), &lines(&m.now));
            let currency = now
                .get(&m.conversion_id)
                .or_else(|| then.get(&m.conversion_id))
                .and_then(|s| s.currency.clone());
            AsOfMoved {
                conversion_id: m.conversion_id,
                reasons: m.reasons,
                currency,
                moved_minor,
                moved_share,
                then: m.then,
                now: m.now,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.moved_minor
            .cmp(&a.moved_minor)
            .then(b.moved_share.total_cmp(&a.moved_share))
            .then(a.conversion_id.cmp(&b.conversion_id))
    });
    out.truncate(limit);
    out
}
