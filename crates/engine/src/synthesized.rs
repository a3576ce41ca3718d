//! Reports with or without synthesized touches (touches made from other data,
//! such as `touchline import`'s backfill from a legacy lead-source field, R16).
//!
//! The stored and published credits count synthesized touches as the
//! configured `attribution.synthesized_touches` says: that is the one view
//! kept up to date as events arrive. A request may ask for the other view;
//! it is then computed on request by the what-if machinery
//! ([`crate::what_if`]), which draws each conversion's touches with the same
//! rule ([`crate::journey`]) and credits them with the same functions, so
//! "include" asked of an engine configured to include gives the stored credits
//! to the minor unit, and "exclude" gives what an engine configured to exclude
//! would store. Nothing is written or published for such a request.
//!
//! Reports that sum credit per group ask the what-if evaluation. Reports that
//! need each conversion's credit set (its touches, its reason for going to
//! `(no touch)`: one conversion, model comparison, unattributed, booked cash,
//! as-of) read the stored conversions with each configured model's result
//! attributed again ([`Queries::for_each_conversion_counting`]): the touches
//! gathered as the journey cache gathers them, every one kept, and credited by
//! [`touchline_attribution::attribute_all`], the engine's own function. The
//! report's pure aggregation is then fed those views as it is fed the stored
//! ones, so there is one rule per report whichever view is asked.

use touchline_attribution::{ConversionKind, Model, SynthesizedTouches, attribute_all};
use touchline_projection::ConversionView;

use crate::queries::{CampaignRow, CreditedCampaigns, performance};
use crate::what_if::cache::{self, CHUNK, Cut};
use crate::what_if::{SettingsChange, WhatIfError, WhatIfRequest, WhatIfRow};
use crate::{
    CampaignCredit, CampaignPerformance, EngineError, GroupBy, GroupCredit, Queries, TimeRange,
};

impl Queries {
    /// Whether the stored credits count synthesized touches: the configured
    /// choice; `include` for a store no engine has opened.
    pub fn stored_synthesized(&self) -> Result<SynthesizedTouches, EngineError> {
        Ok(self
            .configured_settings()?
            .map(|s| s.synthesized_touches)
            .unwrap_or_default())
    }

    /// [`Queries::campaign_credits_in`], counting synthesized touches as
    /// `choice` says: `None` or the configured choice reads the stored
    /// credits, the other choice computes them on request.
    pub fn campaign_credits_counting(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
        choice: Option<SynthesizedTouches>,
    ) -> Result<Vec<CampaignCredit>, WhatIfError> {
        match self.other_view(choice)? {
            None => Ok(self.campaign_credits_in(model, kind, range)?),
            Some(choice) => {
                let mut rows: Vec<CampaignCredit> = self
                    .credits_on_request(model, kind, range, GroupBy::Campaign, choice)?
                    .into_iter()
                    .map(|row| CampaignCredit {
                        campaign_id: row.group,
                        campaign_name: row.name,
                        channel: row.channel,
                        conversions: row.conversions,
                        value_minor: row.value_minor,
                        currency: row.currency,
                    })
                    .collect();
                rows.sort_by(CampaignCredit::report_order);
                Ok(rows)
            }
        }
    }

    /// [`Queries::credits_by`], counting synthesized touches as `choice`
    /// says (as [`Queries::campaign_credits_counting`]).
    pub fn credits_by_counting(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
        by: GroupBy,
        choice: Option<SynthesizedTouches>,
    ) -> Result<Vec<GroupCredit>, WhatIfError> {
        match self.other_view(choice)? {
            None => Ok(self.credits_by(model, kind, range, by)?),
            Some(choice) => {
                let mut rows: Vec<GroupCredit> = self
                    .credits_on_request(model, kind, range, by, choice)?
                    .into_iter()
                    .map(|row| GroupCredit {
                        group: row.group,
                        campaigns: row.campaigns,
                        conversions: row.conversions,
                        value_minor: row.value_minor,
                        currency: row.currency,
                    })
                    .collect();
                rows.sort_by(GroupCredit::report_order);
                Ok(rows)
            }
        }
    }

    /// [`Queries::campaign_performance`], counting synthesized touches as
    /// `choice` says: the credited leads, sales, revenue and booked cash of
    /// the other view are computed on request; members, responders, sourced
    /// leads and cost are no credit and stay as stored.
    pub fn campaign_performance_counting(
        &self,
        model: Model,
        range: TimeRange,
        currency: &str,
        choice: Option<SynthesizedTouches>,
    ) -> Result<Vec<CampaignPerformance>, WhatIfError> {
        let Some(other) = self.other_view(choice)? else {
            return Ok(self.campaign_performance(model, range, currency)?);
        };
        let credited = CreditedCampaigns {
            leads: self.campaign_credits_counting(
                model,
                ConversionKind::LeadCreated,
                range,
                Some(other),
            )?,
            won: self.campaign_credits_counting(
                model,
                ConversionKind::OpportunityWon,
                range,
                Some(other),
            )?,
            booked: self.booked_by_campaign_counting(model, range, currency, Some(other))?,
        };
        let mut campaigns = Vec::new();
        self.stores()
            .for_each(|_, view: touchline_projection::CampaignView| {
                campaigns.push(CampaignRow::of(&view, currency, range));
            })?;
        Ok(performance(campaigns, &credited, currency))
    }

    /// One live conversion (as [`Queries::conversion`]) with its credit sets
    /// counting synthesized touches as `choice` says. Computed sets keep the
    /// stored set's `version` and `as_of_seq`: they are worked out from the
    /// same inputs.
    pub fn conversion_counting(
        &self,
        id: &str,
        choice: Option<SynthesizedTouches>,
    ) -> Result<Option<ConversionView>, EngineError> {
        let Some(mut view) = self.conversion(id)? else {
            return Ok(None);
        };
        if let Some(other) = self.other_view(choice)? {
            self.attribute_again(std::slice::from_mut(&mut view), other)?;
        }
        Ok(Some(view))
    }

    /// Visits the live conversions of `kind` in `range` (as
    /// `for_each_conversion`), their credit sets counting synthesized touches
    /// as `choice` says: the stored views, or the views with every model's
    /// result attributed again, a chunk at a time.
    pub(crate) fn for_each_conversion_counting(
        &self,
        kind: ConversionKind,
        range: TimeRange,
        choice: Option<SynthesizedTouches>,
        mut visit: impl FnMut(&ConversionView),
    ) -> Result<(), EngineError> {
        let Some(other) = self.other_view(choice)? else {
            return self.for_each_conversion(kind, range, visit);
        };
        let mut chunk: Vec<ConversionView> = Vec::with_capacity(CHUNK);
        let mut failed: Option<EngineError> = None;
        self.for_each_conversion(kind, range, |view| {
            if failed.is_some() {
                return;
            }
            chunk.push(view.clone());
            if chunk.len() == CHUNK {
                match self.attribute_again(&mut chunk, other) {
                    Ok(()) => chunk.drain(..).for_each(|v| visit(&v)),
                    Err(e) => failed = Some(e),
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        self.attribute_again(&mut chunk, other)?;
        chunk.iter().for_each(visit);
        Ok(())
    }

    /// Replaces each view's results with what the engine would store if
    /// `synthesized_touches` were `choice`: the same touches (every one, so
    /// the reasons for `(no touch)` are the engine's), the same milestones,
    /// [`attribute_all`] under the configured settings but for that choice.
    fn attribute_again(
        &self,
        views: &mut [ConversionView],
        choice: SynthesizedTouches,
    ) -> Result<(), EngineError> {
        let mut settings = self.configured_settings()?.unwrap_or_default();
        settings.synthesized_touches = choice;
        let mode = settings.opportunity_touches;
        // Gathered per conversion point: a chunk of one kind is one read.
        for kind in ConversionKind::ALL {
            let indexes: Vec<usize> = (0..views.len())
                .filter(|&i| views[i].conversion.kind == kind)
                .collect();
            if indexes.is_empty() {
                continue;
            }
            let conversions: Vec<_> = indexes
                .iter()
                .map(|&i| views[i].conversion.clone())
                .collect();
            let mut gathered = Vec::with_capacity(conversions.len());
            cache::gather(self, &conversions, mode, mode, Cut::Keep, &mut gathered)?;
            for (&i, (conversion, touches)) in indexes.iter().zip(gathered) {
                let view = &mut views[i];
                let models: Vec<Model> = view.results.iter().map(|r| r.model).collect();
                let answers = attribute_all(&models, &conversion, &touches, &settings);
                for (result, (_, attribution)) in view.results.iter_mut().zip(answers) {
                    result.attribution = attribution;
                }
            }
        }
        Ok(())
    }

    /// `Some(choice)` when `choice` asks for other credits than the stored ones.
    pub(crate) fn other_view(
        &self,
        choice: Option<SynthesizedTouches>,
    ) -> Result<Option<SynthesizedTouches>, EngineError> {
        let Some(choice) = choice else {
            return Ok(None);
        };
        Ok((choice != self.stored_synthesized()?).then_some(choice))
    }

    fn credits_on_request(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
        by: GroupBy,
        choice: SynthesizedTouches,
    ) -> Result<Vec<WhatIfRow>, WhatIfError> {
        let answer = self.what_if(&WhatIfRequest {
            models: vec![model],
            kind,
            range,
            by,
            change: SettingsChange {
                synthesized_touches: Some(choice),
                ..SettingsChange::default()
            },
            moved: None,
        })?;
        Ok(answer.rows)
    }
}
