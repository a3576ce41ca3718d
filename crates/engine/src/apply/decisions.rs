//! Decisions a batch takes as it folds: routing a new lead, alerting reps.

use super::*;

impl BatchState {
    /// The source at first contact a routing rule sees: the lead's own, else
    /// its earliest touch's campaign with that campaign's medium and source.
    pub(super) fn routing_source(&mut self, person: &PersonView) -> LeadSource {
        if let Some(source) = &person.source {
            return source.clone();
        }
        let Some(mut source) = person.source_at_first_contact() else {
            return LeadSource::default();
        };
        if let Some(campaign) = self.campaigns.get(&source.campaign_id) {
            source.ad_code.clone_from(&campaign.ad_code);
            source.medium.clone_from(&campaign.medium);
            source.source.clone_from(&campaign.source);
        }
        source
    }

    /// The routing of a lead that has just arrived without an owner, as an event
    /// to append; `None` when it has an owner, was routed before, or no rule
    /// matches.
    pub(super) fn route_new_lead(
        &mut self,
        envelope: &Envelope,
        rules: &RoutingRules,
    ) -> Option<Envelope> {
        let Event::LeadCreated(e) = &envelope.event else {
            return None;
        };
        if rules.rules.is_empty() {
            return None;
        }
        let person_id = self.resolve(&e.person_id);
        let person = self.persons.get(&person_id).cloned()?;
        // A lead recorded long after its creation is history (a backfill): it
        // goes to nobody's desk.
        if !person.owner_id.is_empty() || !person.routing.is_empty() || person.arrived_as_history()
        {
            return None;
        }
        let source = self.routing_source(&person);
        let rule = rules.route(&person, &source)?;
        Some(Envelope {
            event_id: touchline_core::derived_event_id("routed", &envelope.event_id),
            occurred_at: envelope.occurred_at,
            recorded_at: envelope.recorded_at,
            source_system: "touchline.routing".to_owned(),
            event: Event::LeadRouted(LeadRouted {
                person_id,
                owner_id: rule.owner.clone(),
                owner_kind: rule.owner_kind,
                rule: rule.name.clone(),
                reason: "new lead without an owner".to_owned(),
            }),
        })
    }

    /// Alerts for the reps of accounts with open pipeline whose people show new
    /// activity (R18): one per account, keyed by the account.
    pub(super) fn activity_alerts(&mut self, seq: u64, envelope: &Envelope) -> Vec<OutboxRecord> {
        let Event::TouchRecorded(touch) = &envelope.event else {
            return Vec::new();
        };
        if envelope.recorded_at.as_millis() - envelope.occurred_at.as_millis()
            > ALERT_MAX_LATENESS_MS
        {
            return Vec::new();
        }
        let person_id = self.resolve(&touch.person_id);
        let Some(person) = self.persons.get(&person_id) else {
            return Vec::new();
        };
        // Named only when an alert is made: most touches make none.
        let mut person_name: Option<String> = None;
        let mut accounts = person.accounts.clone();
        if !person.account_id.is_empty() && !accounts.contains(&person.account_id) {
            accounts.push(person.account_id.clone());
        }
        let mut alerts = Vec::new();
        for account_id in accounts {
            let Some(account) = self.accounts.get(&account_id) else {
                continue;
            };
            let (account_name, account_owner) = (account.name.clone(), account.owner_id.clone());
            let mut open = Vec::new();
            for opportunity_id in &account.opportunity_ids {
                if let Some(o) = self.opportunities.get(opportunity_id)
                    && o.created_at.is_some()
                    && o.closed.is_none()
                {
                    open.push(OpenOpportunity {
                        opportunity_id: o.opportunity_id.clone(),
                        name: o.name.clone(),
                        stage: o.stage.clone(),
                        amount: o.amount.clone(),
                        owner_id: o.owner_id.clone(),
                    });
                }
            }
            if open.is_empty() {
                continue;
            }
            let mut rep_ids: Vec<String> = open
                .iter()
                .map(|o| o.owner_id.clone())
                .filter(|o| !o.is_empty())
                .collect();
            rep_ids.sort_unstable();
            rep_ids.dedup();
            if rep_ids.is_empty() && !account_owner.is_empty() {
                rep_ids.push(account_owner);
            }
            let alert = ActivityAlert {
                alert_id: format!("{}/{account_id}", envelope.event_id),
                account_id: account_id.clone(),
                account_name,
                rep_ids,
                person_id: person_id.clone(),
                person_name: person_name
                    .get_or_insert_with(|| person.display_name())
                    .clone(),
                campaign_id: touch.campaign_id.clone(),
                touch_type: touch.touch_type,
                status: touch.status,
                topic: touch.topic.clone(),
                occurred_at: envelope.occurred_at,
                open_opportunities: open,
                seq,
            };
            // The account keeps its recent alerts, for its record (and the
            // dashboard); a rebuild records them again, without publishing.
            if let Some(account) = self.accounts.get_existing_mut(&account_id) {
                account.record_alert(touchline_projection::AlertEntry {
                    alert_id: alert.alert_id.clone(),
                    person_id: alert.person_id.clone(),
                    person_name: alert.person_name.clone(),
                    campaign_id: alert.campaign_id.clone(),
                    touch_type: alert.touch_type,
                    topic: alert.topic.clone(),
                    occurred_at: alert.occurred_at,
                    rep_ids: alert.rep_ids.clone(),
                    open_opportunity_ids: alert
                        .open_opportunities
                        .iter()
                        .map(|o| o.opportunity_id.clone())
                        .collect(),
                    seq,
                });
            }
            // Plain data with string keys: serializing cannot fail.
            let value = serde_json::to_vec(&alert).unwrap_or_default();
            alerts.push(OutboxRecord::alert(account_id, value));
        }
        alerts
    }
}
