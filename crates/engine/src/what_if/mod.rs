//! What-if attribution: any model with any parameters over the stored
//! history, answered in memory, changing nothing and publishing nothing.
//!
//! A what-if names models, a conversion point, a period (the conversions that
//! happened in it, [`TimeRange::contains`], as in every report), a grouping and
//! the settings to change against the configured ones: the lookback of the
//! conversion point, the time-decay half-life, the custom position weights,
//! the touch filter, whether synthesized touches count, and whose touches an
//! opportunity draws on. It answers the
//! credit per campaign, channel or source under each model and, when asked,
//! which conversions move against the stored (configured) credits.
//!
//! The answer comes from a journey cache ([`cache`]) built from the views and
//! kept while the store's log and configuration stand still; the evaluation
//! ([`eval`]) runs every conversion of the period through the attribution
//! crate's own weight and apportion functions, in parallel. Under the
//! configured parameters it gives the stored credits to the minor unit.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use touchline_attribution::{
    AttributionSettings, ConversionKind, Model, NO_TOUCH, OpportunityTouches, PositionWeights,
    SynthesizedTouches, TouchFilter,
};
use touchline_core::{MinorTotal, Timestamp};
use touchline_projection::ConversionView;

use crate::queries::credit_total;
use crate::{EngineError, GroupBy, Queries, TimeRange};

pub(crate) mod cache;
mod eval;

use cache::{Journeys, Stamp};
use eval::{Ask, Baseline, PerCampaign};

/// The most models one what-if evaluates (every model once).
pub const MAX_MODELS: usize = Model::ALL.len();
/// The most moved conversions one answer lists.
pub const MAX_MOVED_LIMIT: usize = 10_000;
/// The longest lookback a what-if takes, in days (100 years).
pub const MAX_LOOKBACK_DAYS: u32 = 36_500;
/// The longest time-decay half-life a what-if takes, in days.
pub const MAX_HALF_LIFE_DAYS: f64 = 36_500.0;

/// What a what-if changes against the configured settings; `None` keeps the
/// configured value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsChange {
    /// The lookback of the asked conversion point: `Some(None)` is unlimited.
    pub lookback_days: Option<Option<u32>>,
    pub half_life_days: Option<f64>,
    pub custom: Option<PositionWeights>,
    pub filter: Option<TouchFilter>,
    pub opportunity_touches: Option<OpportunityTouches>,
    /// Whether touches synthesized from other data may be credited.
    pub synthesized_touches: Option<SynthesizedTouches>,
}

impl SettingsChange {
    /// The settings `base` becomes for a what-if on `kind`.
    pub fn apply(&self, base: &AttributionSettings, kind: ConversionKind) -> AttributionSettings {
        let mut settings = base.clone();
        if let Some(days) = self.lookback_days {
            let lookback = &mut settings.lookback_days;
            match kind {
                ConversionKind::LeadCreated => lookback.lead_created = days,
                ConversionKind::LeadQualified => lookback.lead_qualified = days,
                ConversionKind::OpportunityCreated => lookback.opportunity_created = days,
                ConversionKind::OpportunityWon => lookback.opportunity_won = days,
            }
        }
        if let Some(h) = self.half_life_days {
            settings.params.time_decay_half_life_days = h;
        }
        if let Some(w) = self.custom {
            settings.params.custom = w;
        }
        if let Some(f) = self.filter {
            settings.filter = f;
        }
        if let Some(t) = self.opportunity_touches {
            settings.opportunity_touches = t;
        }
        if let Some(s) = self.synthesized_touches {
            settings.synthesized_touches = s;
        }
        settings
    }
}

/// One what-if question.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfRequest {
    /// The models to evaluate, each once; empty means every configured model.
    pub models: Vec<Model>,
    pub kind: ConversionKind,
    pub range: TimeRange,
    pub by: GroupBy,
    pub change: SettingsChange,
    /// List the conversions that move against the stored credits.
    pub moved: Option<MovedRequest>,
}

/// Which conversions move, against which stored model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovedRequest {
    /// The configured model to compare with; `None`: each model's own stored
    /// credits when it is configured, else the first configured model's.
    pub baseline: Option<Model>,
    /// How many moved conversions to list (the largest moves first).
    pub limit: usize,
}

/// A what-if's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfAnswer {
    pub conversion: ConversionKind,
    pub by: GroupBy,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub models: Vec<Model>,
    /// The settings evaluated: the configured ones with the asked changes.
    pub settings: AttributionSettings,
    /// The log position the answer accounts for (one past its last event).
    pub as_of_seq: u64,
    /// Conversions in the period.
    pub conversions: usize,
    /// Eligible touches over those conversions (once, not once per model).
    pub eligible_touches: usize,
    /// Credit per model and group, in long form: one row per model, group
    /// and currency; per model sorted by value, then conversions, descending.
    pub rows: Vec<WhatIfRow>,
    /// Per model, how much moved against the stored credits (when asked).
    pub moved_totals: Vec<MovedTotal>,
    /// The conversions that moved most (when asked), largest first.
    pub moved: Vec<MovedConversion>,
}

/// Credit of one group under one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfRow {
    pub model: Model,
    /// The campaign id, channel or source; `(none)` for campaigns without a
    /// channel or source, `(no touch)` for conversions without an eligible touch.
    pub group: String,
    /// The campaign's name (`by=campaign`); the group otherwise.
    pub name: String,
    /// The campaign's channel (`by=campaign`); the group for `by=channel`.
    pub channel: String,
    /// Campaigns summed in the row.
    pub campaigns: usize,
    /// Fractional conversions credited (sum of weights).
    pub conversions: f64,
    pub value_minor: MinorTotal,
    pub currency: Option<String>,
}

/// How much of one model's credit moved against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MovedTotal {
    pub model: Model,
    pub baseline: Model,
    pub conversions_moved: usize,
    /// Value that changed campaign, in minor units (summed over currencies).
    pub value_moved_minor: MinorTotal,
    /// Conversions' worth of credit that changed campaign.
    pub share_moved: f64,
}

/// One conversion whose credit moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MovedConversion {
    pub model: Model,
    pub baseline: Model,
    pub conversion_id: String,
    pub occurred_at: Timestamp,
    pub value_minor: Option<i64>,
    pub currency: Option<String>,
    pub moved_minor: i64,
    pub moved_share: f64,
    /// The stored credit per campaign.
    pub then: Vec<CampaignShare>,
    /// The what-if credit per campaign.
    pub now: Vec<CampaignShare>,
}

/// A conversion's credit to one campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignShare {
    pub campaign_id: String,
    pub weight: f64,
    pub amount_minor: Option<i64>,
}

/// Why a what-if has no answer.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The baseline asked for has no stored credits.
    #[error(
        "baseline: {model:?} is not computed by this engine; the configured models are {configured}"
    )]
    NotComputed { model: String, configured: String },
    /// A parameter the models refuse (checked again here for library
    /// callers), named as the API spells it.
    #[error("{parameter}: {problem}")]
    Invalid {
        parameter: &'static str,
        problem: String,
    },
}

impl From<touchline_store::StoreError> for WhatIfError {
    fn from(e: touchline_store::StoreError) -> Self {
        WhatIfError::Engine(e.into())
    }
}

/// The journey caches of one store state, shared by every clone of a
/// [`Queries`].
#[derive(Debug, Default)]
pub(crate) struct WhatIfCache {
    generation: Mutex<Option<Generation>>,
}

#[derive(Debug)]
struct Generation {
    stamp: Stamp,
    journeys: BTreeMap<(ConversionKind, bool), Arc<Journeys>>,
    baselines: BTreeMap<(ConversionKind, bool, Model), Arc<Baseline>>,
}

/// How long the journey cache took and holds, for the benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheFigures {
    pub conversions: usize,
    pub touches: usize,
    pub bytes: usize,
    pub build_seconds: f64,
}

impl Queries {
    /// Answers a what-if; see the [module docs](self).
    pub fn what_if(&self, request: &WhatIfRequest) -> Result<WhatIfAnswer, WhatIfError> {
        let configured_models = self.configured_models()?;
        let stored = self.configured_settings()?.unwrap_or_default();
        if let Some(Some(days)) = request.change.lookback_days
            && days > MAX_LOOKBACK_DAYS
        {
            return Err(WhatIfError::Invalid {
                parameter: "lookback_days",
                problem: format!("{days} is more than {MAX_LOOKBACK_DAYS} days"),
            });
        }
        if let Some(limit) = request.moved.map(|m| m.limit)
            && !(1..=MAX_MOVED_LIMIT).contains(&limit)
        {
            return Err(WhatIfError::Invalid {
                parameter: "moved_limit",
                problem: format!("{limit} is not 1 to {MAX_MOVED_LIMIT}"),
            });
        }
        if request.models.len() > MAX_MODELS {
            return Err(WhatIfError::Invalid {
                parameter: "model",
                problem: format!("{} models, at most {MAX_MODELS}", request.models.len()),
            });
        }
        let settings = request.change.apply(&stored, request.kind);
        check_settings(&settings)?;
        let models: Vec<Model> = if request.models.is_empty() {
            configured_models
                .clone()
                .unwrap_or_else(|| Model::ALL.to_vec())
        } else {
            request.models.clone()
        };
        let (stamp, journeys) = self.journeys(request.kind, &settings, &stored)?;
        let baseline_models: Option<Vec<Model>> = match request.moved {
            None => None,
            Some(moved) => Some(baselines_for(
                &models,
                moved.baseline,
                configured_models.as_deref(),
            )?),
        };
        let baselines: Option<Vec<Arc<Baseline>>> = match &baseline_models {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|&m| self.baseline(&stamp, &journeys, request.kind, &settings, m))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let ask = Ask {
            journeys: &journeys,
            models: &models,
            settings: &settings,
            range: request.range,
            baselines: baselines
                .as_ref()
                .map(|list| list.iter().map(|b| b.as_ref()).collect()),
        };
        let mut totals = eval::evaluate(&ask);
        let rows = rows(&journeys, &models, request.by, &totals.cells);
        let mut moved_totals = Vec::new();
        let mut moved = Vec::new();
        if let (Some(request_moved), Some(baseline_models)) = (request.moved, &baseline_models) {
            for (m, &(count, value, share)) in totals.moved.iter().enumerate() {
                moved_totals.push(MovedTotal {
                    model: models[m],
                    baseline: baseline_models[m],
                    conversions_moved: count,
                    value_moved_minor: value,
                    share_moved: credit_total(share),
                });
            }
            totals.moves.sort_by(|a, b| {
                b.minor
                    .cmp(&a.minor)
                    .then(b.share.total_cmp(&a.share))
                    .then(journeys.ids[a.conversion].cmp(&journeys.ids[b.conversion]))
                    .then(a.model.cmp(&b.model))
            });
            totals.moves.truncate(request_moved.limit);
            for mv in &totals.moves {
                let baseline = baselines
                    .as_ref()
                    .and_then(|b| b[mv.model].get(mv.conversion).cloned().flatten())
                    .unwrap_or_default();
                moved.push(MovedConversion {
                    model: models[mv.model],
                    baseline: baseline_models[mv.model],
                    conversion_id: journeys.ids[mv.conversion].clone(),
                    occurred_at: journeys.at[mv.conversion],
                    value_minor: journeys.value[mv.conversion],
                    currency: journeys.currencies[journeys.currency[mv.conversion] as usize]
                        .clone(),
                    moved_minor: mv.minor,
                    moved_share: mv.share,
                    then: shares(
                        &journeys,
                        &baseline,
                        journeys.value[mv.conversion].is_some(),
                    ),
                    now: shares(
                        &journeys,
                        &credit_of(&journeys, &settings, models[mv.model], mv.conversion),
                        journeys.value[mv.conversion].is_some(),
                    ),
                });
            }
        }
        Ok(WhatIfAnswer {
            conversion: request.kind,
            by: request.by,
            from: request.range.from,
            to: request.range.to,
            models,
            settings,
            as_of_seq: stamp.next_seq,
            conversions: totals.conversions,
            eligible_touches: totals.touches,
            rows,
            moved_totals,
            moved,
        })
    }

    /// Builds (or finds) the journey cache for `kind` under `settings` and
    /// says what it holds and cost: for the benchmark, which times the
    /// evaluation apart from the build.
    pub fn warm_what_if(
        &self,
        kind: ConversionKind,
        change: &SettingsChange,
    ) -> Result<CacheFigures, WhatIfError> {
        let stored = self.configured_settings()?.unwrap_or_default();
        let settings = change.apply(&stored, kind);
        let started = std::time::Instant::now();
        let (_, journeys) = self.journeys(kind, &settings, &stored)?;
        Ok(CacheFigures {
            conversions: journeys.len(),
            touches: journeys.touch_at.len(),
            bytes: journeys.heap_bytes(),
            build_seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The journeys of `kind` as `settings` draws them, from the cache when
    /// the store has not moved since it was built.
    fn journeys(
        &self,
        kind: ConversionKind,
        settings: &AttributionSettings,
        stored: &AttributionSettings,
    ) -> Result<(Stamp, Arc<Journeys>), EngineError> {
        let mode = settings.opportunity_touches;
        // Lead conversions draw on their person whatever the mode.
        let key = (
            kind,
            !kind.is_person() && crate::journey::needs_account(mode),
        );
        let stamp = Stamp::read(self.stores())?;
        let mut guard = self
            .what_if_cache()
            .generation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(|g| g.stamp != stamp) {
            *guard = Some(Generation {
                stamp: stamp.clone(),
                journeys: BTreeMap::new(),
                baselines: BTreeMap::new(),
            });
        }
        let generation = guard
            .as_mut()
            .ok_or_else(|| EngineError::Writer("the what-if cache lost its generation".into()))?;
        if let Some(journeys) = generation.journeys.get(&key) {
            return Ok((stamp, journeys.clone()));
        }
        // Built under the lock: a second request for the same journeys waits
        // for this one instead of building them again.
        let journeys = Arc::new(cache::build(self, kind, mode, stored.opportunity_touches)?);
        generation.journeys.insert(key, journeys.clone());
        Ok((stamp, journeys))
    }

    /// The stored credits of `model` for the conversions of `journeys`.
    fn baseline(
        &self,
        stamp: &Stamp,
        journeys: &Journeys,
        kind: ConversionKind,
        settings: &AttributionSettings,
        model: Model,
    ) -> Result<Arc<Baseline>, EngineError> {
        let key = (
            kind,
            !kind.is_person() && crate::journey::needs_account(settings.opportunity_touches),
            model,
        );
        let mut guard = self
            .what_if_cache()
            .generation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(generation) = guard.as_ref().filter(|g| &g.stamp == stamp)
            && let Some(found) = generation.baselines.get(&key)
        {
            return Ok(found.clone());
        }
        let index: hashbrown::HashMap<&str, usize> = journeys
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let campaign_index: hashbrown::HashMap<&str, u32> = journeys
            .campaigns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i as u32))
            .collect();
        let mut baseline: Baseline = vec![None; journeys.len()];
        let mut unknown = false;
        self.for_each_conversion(kind, TimeRange::default(), |view: &ConversionView| {
            let (Some(&i), Some(result)) =
                (index.get(view.conversion.id.as_str()), view.result(model))
            else {
                return;
            };
            let mut lines: PerCampaign = Vec::with_capacity(result.attribution.credits.len());
            for credit in &result.attribution.credits {
                let Some(&campaign) = campaign_index.get(credit.campaign_id.as_str()) else {
                    unknown = true;
                    continue;
                };
                lines.push((campaign, credit.amount_minor.unwrap_or(0), credit.weight));
            }
            let campaigns: Vec<u32> = lines.iter().map(|l| l.0).collect();
            let weights: Vec<f64> = lines.iter().map(|l| l.2).collect();
            let amounts: Vec<i64> = lines.iter().map(|l| l.1).collect();
            eval::per_campaign(&campaigns, &weights, Some(&amounts), &mut lines);
            baseline[i] = Some(lines);
        })?;
        if unknown {
            tracing::debug!("stored credits name a campaign the journeys do not; the store moved");
        }
        let baseline = Arc::new(baseline);
        if let Some(generation) = guard.as_mut().filter(|g| &g.stamp == stamp) {
            generation.baselines.insert(key, baseline.clone());
        }
        Ok(baseline)
    }
}

/// Refuses settings no model can work with (the configuration's own checks).
fn check_settings(settings: &AttributionSettings) -> Result<(), WhatIfError> {
    settings
        .params
        .custom
        .validate()
        .map_err(|e| WhatIfError::Invalid {
            parameter: "weights",
            problem: e.to_string(),
        })?;
    let h = settings.params.time_decay_half_life_days;
    if !(h.is_finite() && h > 0.0 && h <= MAX_HALF_LIFE_DAYS) {
        return Err(WhatIfError::Invalid {
            parameter: "half_life_days",
            problem: format!(
                "{h} is not a number of days above 0 and at most {MAX_HALF_LIFE_DAYS}"
            ),
        });
    }
    Ok(())
}

/// The stored model each evaluated model is compared with.
fn baselines_for(
    models: &[Model],
    asked: Option<Model>,
    configured: Option<&[Model]>,
) -> Result<Vec<Model>, WhatIfError> {
    let configured = configured.unwrap_or(&Model::ALL);
    let names = || {
        configured
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(model) = asked {
        if !configured.contains(&model) {
            return Err(WhatIfError::NotComputed {
                model: model.name().to_owned(),
                configured: names(),
            });
        }
        return Ok(vec![model; models.len()]);
    }
    let first = configured
        .first()
        .copied()
        .ok_or_else(|| WhatIfError::NotComputed {
            model: String::new(),
            configured: names(),
        })?;
    Ok(models
        .iter()
        .map(|m| if configured.contains(m) { *m } else { first })
        .collect())
}

/// The what-if credit of one conversion under one model, per campaign.
fn credit_of(
    journeys: &Journeys,
    settings: &AttributionSettings,
    model: Model,
    conversion: usize,
) -> PerCampaign {
    let ask = Ask {
        journeys,
        models: &[model],
        settings,
        range: TimeRange::default(),
        baselines: None,
    };
    eval::credit_of_one(&ask, conversion)
}

fn shares(journeys: &Journeys, lines: &PerCampaign, valued: bool) -> Vec<CampaignShare> {
    lines
        .iter()
        .map(|&(campaign, amount, weight)| CampaignShare {
            campaign_id: journeys.campaigns[campaign as usize].id.clone(),
            weight,
            amount_minor: valued.then_some(amount),
        })
        .collect()
}

/// The evaluated cells as report rows, grouped and sorted as the stored
/// reports group and sort them (`campaign_credits_in`, `credits_by`).
fn rows(
    journeys: &Journeys,
    models: &[Model],
    by: GroupBy,
    cells: &[eval::Cell],
) -> Vec<WhatIfRow> {
    let currencies = journeys.currencies.len();
    let stride = journeys.campaigns.len() * currencies;
    let mut out = Vec::new();
    for (m, &model) in models.iter().enumerate() {
        let mut groups: BTreeMap<(String, Option<String>), WhatIfRow> = BTreeMap::new();
        for (c, campaign) in journeys.campaigns.iter().enumerate() {
            for (k, currency) in journeys.currencies.iter().enumerate() {
                let cell = cells[m * stride + c * currencies + k];
                if !cell.credited {
                    continue;
                }
                let conversions = credit_total(cell.weight);
                let group = if c == 0 {
                    NO_TOUCH.to_owned()
                } else {
                    let value = match by {
                        GroupBy::Campaign => &campaign.id,
                        GroupBy::Channel => &campaign.channel,
                        GroupBy::Source => &campaign.source,
                    };
                    if value.is_empty() {
                        "(none)".to_owned()
                    } else {
                        value.clone()
                    }
                };
                let row = groups
                    .entry((group.clone(), currency.clone()))
                    .or_insert_with(|| WhatIfRow {
                        model,
                        name: match by {
                            GroupBy::Campaign => campaign.name.clone(),
                            _ => group.clone(),
                        },
                        channel: match by {
                            GroupBy::Campaign => campaign.channel.clone(),
                            GroupBy::Channel => group.clone(),
                            GroupBy::Source => String::new(),
                        },
                        group,
                        campaigns: 0,
                        conversions: 0.0,
                        value_minor: 0,
                        currency: currency.clone(),
                    });
                row.campaigns += 1;
                row.conversions += conversions;
                row.value_minor += cell.value;
            }
        }
        let mut rows: Vec<WhatIfRow> = groups
            .into_values()
            .map(|r| WhatIfRow {
                conversions: credit_total(r.conversions),
                ..r
            })
            .collect();
        rows.sort_by(|a, b| {
            b.value_minor
                .cmp(&a.value_minor)
                .then(b.conversions.total_cmp(&a.conversions))
                .then(a.group.cmp(&b.group))
        });
        out.extend(rows);
    }
    out
}
