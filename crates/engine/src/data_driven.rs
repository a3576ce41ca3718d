//! Data-driven attribution over the whole history: builds every journey (the
//! touches before each conversion, and the touches of people who never converted)
//! from the views and hands them to the Markov or Shapley model.

use hashbrown::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use touchline_attribution::data_driven::{
    DataDrivenResult, Journey, ShapleyOptions, markov_with, shapley,
};
use touchline_attribution::{
    AttributionSettings, Conversion, ConversionKind, TouchPoint, eligible_touches,
};
use touchline_projection::{CampaignView, ConversionView, OpportunityView, PersonView, TouchEntry};

use crate::{EngineError, Queries, TimeRange};

/// Which data-driven model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataDrivenModel {
    /// Markov-chain removal effect of the given order (1 to 3).
    Markov { order: usize },
    /// Shapley value, exact up to 15 channels, sampled with a fixed seed beyond.
    Shapley,
}

/// What a journey step is: the campaign's channel, or the campaign itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[default]
    Channel,
    Campaign,
}

/// A data-driven report and the journeys behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataDrivenReport {
    pub model: DataDrivenModel,
    pub conversion: ConversionKind,
    pub by: Granularity,
    /// How value was shared (Markov only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markov_value: Option<touchline_attribution::data_driven::MarkovValue>,
    /// Whether touches synthesized from other data were in the journeys.
    pub synthesized_touches: touchline_attribution::SynthesizedTouches,
    pub converting_journeys: usize,
    pub non_converting_journeys: usize,
    #[serde(flatten)]
    pub result: DataDrivenResult,
}

/// Errors of a data-driven report.
#[derive(Debug, thiserror::Error)]
pub enum DataDrivenReportError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Model(#[from] touchline_attribution::data_driven::DataDrivenError),
}

impl From<touchline_store::StoreError> for DataDrivenReportError {
    fn from(e: touchline_store::StoreError) -> Self {
        DataDrivenReportError::Engine(e.into())
    }
}

impl Queries {
    /// Runs a data-driven model over the conversions of `kind` in `range`.
    ///
    /// The period `range` means what it means in every report: the
    /// conversions that happened in it.
    ///
    /// Converting journeys: for each conversion of `kind` in `range`, its
    /// eligible touches (as the per-conversion models see them: before the
    /// conversion, inside the lookback window, passing the filter), valued 1 for
    /// lead conversions and the amount in minor units for opportunity
    /// conversions. Non-converting journeys: every other person with touches
    /// who had not converted by the end of the period (a prospect who never
    /// became a lead, a lead not qualified yet, a contact whose deals had not
    /// closed won, someone who converted only after the period), with the
    /// touches a conversion at the end of the period would see: before it,
    /// inside the lookback window, passing the filter. People whose conversion
    /// came before the period are in neither: their journey ended before it.
    ///
    /// Example, September: Alice (email touch 25 August, lead 5 September)
    /// converts; Bob (search 10 September, email 1 October, lead 3 October) is
    /// a non-converting `[search]`, his October touch cut; Carol (lead in
    /// August, email in September) is in neither; Dave (search 20 September,
    /// never a lead) is a non-converting `[search]`. Markov then credits all of
    /// September's leads to email.
    pub fn data_driven(
        &self,
        model: DataDrivenModel,
        kind: ConversionKind,
        range: TimeRange,
        by: Granularity,
        settings: &AttributionSettings,
    ) -> Result<DataDrivenReport, DataDrivenReportError> {
        let mut channel_of: HashMap<String, String> = HashMap::new();
        self.stores().for_each(|id, c: CampaignView| {
            let channel = if c.channel.is_empty() {
                id.to_owned()
            } else {
                c.channel
            };
            channel_of.insert(id.to_owned(), channel);
        })?;
        let step = |campaign: &str| match by {
            Granularity::Campaign => campaign.to_owned(),
            Granularity::Channel => channel_of
                .get(campaign)
                .cloned()
                .unwrap_or_else(|| campaign.to_owned()),
        };

        let mut conversions: Vec<Conversion> = Vec::new();
        // Conversions before the period: their people's journeys ended before it.
        let mut ended_before: Vec<Conversion> = Vec::new();
        let prefix = format!("{}:", kind.name());
        let mut after: Option<String> = None;
        loop {
            let page = self
                .stores()
                .scan::<ConversionView>(&prefix, after.as_deref(), 4096)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for conversion in page
                .into_iter()
                .filter(|(_, v)| v.is_live())
                .map(|(_, v)| v.conversion)
            {
                if range.contains(conversion.occurred_at) {
                    conversions.push(conversion);
                } else if range.from.is_some_and(|from| conversion.occurred_at < from) {
                    ended_before.push(conversion);
                }
            }
        }

        let mut journeys = Vec::with_capacity(conversions.len());
        let mut converting_people: HashSet<String> = HashSet::new();
        for conversion in &conversions {
            let people = self.people_behind(conversion, settings)?;
            for person in &people {
                converting_people.insert(person.person_id.clone());
            }
            let mut gathered = crate::journey::Touches::default();
            for person in &people {
                gathered.add(&self.person_touches(&person.person_id)?);
            }
            let touches: Vec<TouchPoint> = gathered.into_points();
            let eligible = eligible_touches(conversion, &touches, settings).unwrap_or_default();
            journeys.push(Journey {
                channels: eligible.iter().map(|t| step(&t.campaign_id)).collect(),
                converted: true,
                value: conversion
                    .value
                    .as_ref()
                    .map_or(1.0, |m| m.amount_minor as f64),
            });
        }
        let converting = journeys.len();
        for conversion in &ended_before {
            for person in self.people_behind(conversion, settings)? {
                converting_people.insert(person.person_id);
            }
        }
        // A journey that has not converted by the end of the period is cut
        // there, and seen as a conversion at that instant would see it: inside
        // the lookback window, passing the touch filter.
        let window_start = range.to.and_then(|to| settings.window_start(kind, to));
        let counts = |t: &&TouchEntry| {
            range.to.is_none_or(|to| t.occurred_at < to)
                && window_start.is_none_or(|start| t.occurred_at >= start)
                && settings.filter.admits(t.status)
        };
        self.stores().for_each_person_with_touches(
            |id, person: PersonView, touches: Vec<TouchEntry>| {
                if person.merged_into.is_some() || converting_people.contains(id) {
                    return;
                }
                let channels: Vec<String> = touches
                    .iter()
                    .filter(counts)
                    .map(|t| step(&t.campaign_id))
                    .collect();
                if channels.is_empty() {
                    return;
                }
                journeys.push(Journey {
                    channels,
                    converted: false,
                    value: 0.0,
                });
            },
        )?;
        let non_converting = journeys.len() - converting;
        let result = match model {
            DataDrivenModel::Markov { order } => {
                markov_with(&journeys, order, settings.markov_value)?
            }
            DataDrivenModel::Shapley => shapley(&journeys, &ShapleyOptions::default()),
        };
        let mut result = result;
        // Most credited first, as every other credit report; ties by name.
        result.channels.sort_by(|a, b| {
            b.share
                .total_cmp(&a.share)
                .then_with(|| a.channel.cmp(&b.channel))
        });
        Ok(DataDrivenReport {
            model,
            conversion: kind,
            by,
            markov_value: matches!(model, DataDrivenModel::Markov { .. })
                .then_some(settings.markov_value),
            synthesized_touches: settings.synthesized_touches,
            converting_journeys: converting,
            non_converting_journeys: non_converting,
            result,
        })
    }

    /// The people whose touches a conversion draws on, as the per-conversion
    /// models see them ([`crate::journey`]).
    fn people_behind(
        &self,
        conversion: &Conversion,
        settings: &AttributionSettings,
    ) -> Result<Vec<PersonView>, EngineError> {
        if conversion.kind.is_person() {
            return Ok(self.person(&conversion.subject_id)?.into_iter().collect());
        }
        let Some(opportunity): Option<OpportunityView> =
            self.opportunity(&conversion.subject_id)?
        else {
            return Ok(Vec::new());
        };
        let mode = settings.opportunity_touches;
        let account = if crate::journey::needs_account(mode) {
            self.account(&opportunity.account_id)?
        } else {
            None
        };
        let mut people = Vec::new();
        for contact in crate::journey::opportunity_people(&opportunity, account.as_ref(), mode) {
            if let Some(person) = self.surviving_person(&contact)? {
                people.push(person);
            }
        }
        Ok(people)
    }
}
