//! Lead routing rules (R20): which owner, internal or partner, a new lead
//! without an owner goes to. Pure: the engine asks [`RoutingRules::route`] when
//! such a lead arrives and writes the answer to the log as a `LeadRouted` event,
//! so a replay repeats the decision instead of re-deciding it under new rules.

use serde::{Deserialize, Serialize};
use touchline_core::{LeadSource, OwnerKind};

use crate::PersonView;

/// The rules in order, and the follow-up deadline that makes a lead overdue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingRules {
    /// A lead with no follow-up this many hours after its creation is overdue.
    pub first_follow_up_within_hours: f64,
    /// Tried in order; the first whose every condition holds wins.
    pub rules: Vec<RoutingRule>,
}

impl Default for RoutingRules {
    fn default() -> Self {
        RoutingRules {
            first_follow_up_within_hours: 24.0,
            rules: Vec::new(),
        }
    }
}

/// One rule. An empty condition list matches anything; values compare without
/// regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    pub name: String,
    pub owner: String,
    #[serde(default)]
    pub owner_kind: OwnerKind,
    /// The lead source's `source` (e.g. `google`, `partner-portal`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// The lead source's medium (e.g. `cpc`, `email`).
    #[serde(default)]
    pub mediums: Vec<String>,
    /// The campaign at first contact.
    #[serde(default)]
    pub campaigns: Vec<String>,
    /// The domain of the lead's e-mail address.
    #[serde(default)]
    pub email_domains: Vec<String>,
}

impl RoutingRule {
    /// A rule that gives every lead to `owner`; narrow it with the condition
    /// fields (`RoutingRule { sources: ..., ..RoutingRule::to(...) }`).
    pub fn to(name: &str, owner: &str, owner_kind: OwnerKind) -> Self {
        RoutingRule {
            name: name.to_owned(),
            owner: owner.to_owned(),
            owner_kind,
            sources: Vec::new(),
            mediums: Vec::new(),
            campaigns: Vec::new(),
            email_domains: Vec::new(),
        }
    }
}

impl RoutingRules {
    /// Why the rules cannot be used, naming the rule.
    pub fn validate(&self) -> Result<(), String> {
        let hours = self.first_follow_up_within_hours;
        if !(hours.is_finite() && hours > 0.0) {
            return Err(format!(
                "first_follow_up_within_hours must be a positive number of hours, got {hours}"
            ));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.name.trim().is_empty() {
                return Err(format!("rule {} has no name", i + 1));
            }
            if rule.owner.trim().is_empty() {
                return Err(format!("rule {:?} has no owner", rule.name));
            }
        }
        Ok(())
    }

    /// The rule for a lead with this source at first contact, if any matches.
    pub fn route(&self, lead: &PersonView, source: &LeadSource) -> Option<&RoutingRule> {
        let domain = lead.email.rsplit_once('@').map_or("", |(_, d)| d);
        self.rules.iter().find(|rule| {
            matches(&rule.sources, &source.source)
                && matches(&rule.mediums, &source.medium)
                && matches(&rule.campaigns, &source.campaign_id)
                && matches(&rule.email_domains, domain)
        })
    }

    /// The follow-up deadline after creation, in milliseconds.
    pub fn first_follow_up_within_ms(&self) -> i64 {
        (self.first_follow_up_within_hours * 3_600_000.0).round() as i64
    }
}

fn matches(allowed: &[String], value: &str) -> bool {
    allowed.is_empty() || allowed.iter().any(|a| a.eq_ignore_ascii_case(value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rule_whose_conditions_all_hold_wins() {
        let rules = RoutingRules {
            rules: vec![
                RoutingRule {
                    sources: vec!["Partner-Portal".into()],
                    mediums: vec!["referral".into()],
                    ..RoutingRule::to("partners", "acme-resellers", OwnerKind::Partner)
                },
                RoutingRule {
                    email_domains: vec!["bigcorp.com".into()],
                    ..RoutingRule::to("key accounts", "rep-kim", OwnerKind::Internal)
                },
                RoutingRule::to("everyone else", "inside-sales", OwnerKind::Internal),
            ],
            ..RoutingRules::default()
        };
        let mut lead = PersonView::new("p-1");
        lead.email = "ana@bigcorp.com".into();
        lead.source = Some(LeadSource {
            campaign_id: "c-1".into(),
            source: "partner-portal".into(),
            medium: "referral".into(),
            ad_code: String::new(),
        });
        assert_eq!(
            rules
                .route(&lead, lead.source.as_ref().unwrap())
                .map(|r| r.name.as_str()),
            Some("partners")
        );
        if let Some(source) = lead.source.as_mut() {
            source.medium = "cpc".into();
        }
        assert_eq!(
            rules
                .route(&lead, lead.source.as_ref().unwrap())
                .map(|r| r.name.as_str()),
            Some("key accounts")
        );
        lead.email = "bo@elsewhere.org".into();
        assert_eq!(
            rules
                .route(&lead, lead.source.as_ref().unwrap())
                .map(|r| r.name.as_str()),
            Some("everyone else")
        );
        assert_eq!(
            RoutingRules::default().route(&lead, &LeadSource::default()),
            None
        );
    }

    #[test]
    fn rules_without_owner_or_a_bad_deadline_are_refused() {
        let mut rules = RoutingRules {
            rules: vec![RoutingRule::to("r", " ", OwnerKind::Internal)],
            ..RoutingRules::default()
        };
        assert_eq!(rules.validate(), Err("rule \"r\" has no owner".into()));
        rules.rules.clear();
        rules.first_follow_up_within_hours = 0.0;
        assert!(rules.validate().is_err());
    }
}
