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

use touchline_attribution::{ConversionKind, Model, SynthesizedTouches};

use crate::what_if::{SettingsChange, WhatIfError, WhatIfRequest, WhatIfRow};
use crate::{CampaignCredit, EngineError, GroupBy, GroupCredit, Queries, TimeRange};

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
                // The order of the stored report: value, conversions, id.
                rows.sort_by(|a, b| {
                    b.value_minor
                        .cmp(&a.value_minor)
                        .then(b.conversions.total_cmp(&a.conversions))
                        .then(a.campaign_id.cmp(&b.campaign_id))
                        .then(a.currency.cmp(&b.currency))
                });
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
                rows.sort_by(|a, b| {
                    b.value_minor
                        .cmp(&a.value_minor)
                        .then(b.conversions.total_cmp(&a.conversions))
                        .then(a.group.cmp(&b.group))
                        .then(a.currency.cmp(&b.currency))
                });
                Ok(rows)
            }
        }
    }

    /// `Some(choice)` when `choice` asks for other credits than the stored ones.
    fn other_view(
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
