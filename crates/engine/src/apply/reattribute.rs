//! Re-attributing a conversion the batch touched: its touches, every model.

use touchline_projection::TouchEntry;

use super::*;

impl BatchState {
    /// The conversion as the views now define it, with the touches eligible to
    /// be credited; `None` when the conversion does not (or no longer) exist.
    pub(super) fn current_conversion(
        &mut self,
        conversion_id: &str,
    ) -> Option<(Conversion, Vec<TouchPoint>)> {
        let (kind, subject) = conversion_id
            .split_once(':')
            .and_then(|(kind, subject)| Some((ConversionKind::parse(kind)?, subject)))?;
        if kind.is_person() {
            let person = self.persons.get(subject)?;
            if person.merged_into.is_some() {
                return None;
            }
            let at = match kind {
                ConversionKind::LeadCreated => person.lead_created_at,
                _ => person.qualified_at,
            };
            let at = at?;
            let conversion = Conversion {
                id: conversion_id.to_owned(),
                kind,
                subject_id: subject.to_owned(),
                occurred_at: at,
                value: None,
                milestones: Milestones {
                    lead_created: person.lead_created_at,
                    opportunity_created: None,
                    closed_won: None,
                },
            };
            if !self.touches.require(subject) {
                return Some((conversion, Vec::new()));
            }
            let touches = self
                .touches
                .rows(subject)
                .iter()
                .map(TouchEntry::to_touch_point)
                .collect();
            return Some((conversion, touches));
        }
        let opportunity = self.opportunities.get(subject)?;
        let created_at = opportunity.created_at?;
        let won = opportunity.closed.as_ref().filter(|c| c.won);
        let (at, value) = match kind {
            ConversionKind::OpportunityCreated => (created_at, opportunity.amount.clone()),
            _ => match won {
                Some(closed) => (closed.closed_at, Some(closed.amount.clone())),
                None => return None,
            },
        };
        let closed_won = won.map(|c| c.closed_at);
        let mode = if self.account_touches {
            OpportunityTouches::AccountContacts
        } else {
            OpportunityTouches::ContactRoles
        };
        let account = if crate::journey::needs_account(mode) {
            self.accounts.get(&opportunity.account_id).cloned()
        } else {
            None
        };
        let contacts = crate::journey::opportunity_people(opportunity, account.as_ref(), mode);
        let contacts: Vec<String> = contacts.iter().map(|c| self.resolve(c)).collect();
        for contact in &contacts {
            // Read once through the loaded views, so a view or rows not loaded
            // are reported.
            if self.persons.get(contact).is_some() {
                self.touches.require(contact);
            }
        }
        let people: Vec<&PersonView> = contacts
            .iter()
            .filter_map(|c| self.persons.peek(c))
            .collect();
        let lead_created = crate::journey::earliest_lead_created(people.iter().copied());
        let mut touches = crate::journey::Touches::default();
        for person in people {
            touches.add(self.touches.rows(&person.person_id));
        }
        let touches = touches.into_points();
        let conversion = Conversion {
            id: conversion_id.to_owned(),
            kind,
            subject_id: subject.to_owned(),
            occurred_at: at,
            value,
            milestones: Milestones {
                lead_created,
                opportunity_created: Some(created_at),
                closed_won,
            },
        };
        Some((conversion, touches))
    }

    /// Recomputes one conversion under every model; returns the outbox records
    /// for the credit sets that changed (tombstones if the conversion is gone).
    pub(super) fn reattribute(
        &mut self,
        conversion_id: &str,
        config: &EngineConfig,
        seq: u64,
    ) -> Vec<OutboxRecord> {
        let models = &config.models;
        let current = self.current_conversion(conversion_id);
        let Some((conversion, touches)) = current else {
            if !self
                .conversions
                .get(conversion_id)
                .is_some_and(ConversionView::is_live)
            {
                return Vec::new();
            }
            // Retracted: the view stays, without results, so that versions never
            // go back if the conversion returns.
            let Some(view) = self.conversions.get_existing_mut(conversion_id) else {
                return Vec::new();
            };
            let tombstones = view
                .retire_all()
                .into_iter()
                .map(|model| OutboxRecord::attribution(attribution_key(model, conversion_id)))
                .collect();
            return tombstones;
        };
        let fresh = attribute_all(models, &conversion, &touches, &config.settings);
        let version_floor = self.version_floor;
        let view = self.conversions.get_mut_or(conversion_id, || {
            ConversionView::continuing(conversion.clone(), version_floor, models)
        });
        let changed = view.update_above(conversion, fresh, seq, version_floor);
        let top = changed
            .iter()
            .filter_map(|model| view.result(*model))
            .map(|result| result.version)
            .max()
            .unwrap_or(0);
        let mut records = Vec::with_capacity(changed.len());
        // Models no longer configured are retracted.
        let dropped: Vec<Model> = view
            .results
            .iter()
            .map(|r| r.model)
            .filter(|m| !models.contains(m))
            .collect();
        for model in dropped {
            view.retire(model);
            records.push(OutboxRecord::attribution(attribution_key(
                model,
                conversion_id,
            )));
        }
        // The publisher renders each changed credit set from the view when it
        // sends it; the outbox only names the keys.
        records.extend(
            changed
                .into_iter()
                .map(|model| OutboxRecord::attribution(attribution_key(model, conversion_id))),
        );
        self.max_version = self.max_version.max(top);
        records
    }
}
