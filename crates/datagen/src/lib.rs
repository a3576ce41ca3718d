//! A seeded generator of realistic B2B marketing and sales histories.
//!
//! The same [`DatasetConfig`] always yields the same events, byte for byte. The
//! stream opens with the campaign catalogue, then walks account by account through
//! a plausible journey: anonymous touches, a lead with its source, follow-ups and
//! nurture, qualification, conversion to an opportunity with contact roles, stage
//! changes, a won or lost close, the accounting transaction, post-sale support.
//! It also contains what production streams contain: touches recorded days late,
//! producer retries (the same event id twice) and duplicate people later merged.
//! This crate does no I/O.
//!
//! ```
//! use touchline_datagen::{DatasetConfig, Generator};
//!
//! let config = DatasetConfig { accounts: 20, ..DatasetConfig::default() };
//! let a: Vec<_> = Generator::new(config.clone()).collect();
//! let b: Vec<_> = Generator::new(config).collect();
//! assert_eq!(a, b);
//! assert!(a.iter().all(|e| e.validate().is_ok()));
//! ```

mod catalogue;

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use touchline_core::*;

pub use catalogue::{CampaignSpec, catalogue};

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetConfig {
    pub seed: u64,
    /// Accounts (companies) to generate; each brings one to three people.
    pub accounts: usize,
    /// The first journey starts here.
    pub start: Timestamp,
    /// Journeys start spread over this many days.
    pub days: i64,
    /// Prefixes every id, so that two runs into one log do not collide.
    pub id_prefix: String,
}

impl Default for DatasetConfig {
    fn default() -> Self {
        DatasetConfig {
            seed: 42,
            accounts: 1_000,
            // 2026-01-01T00:00:00Z
            start: Timestamp::from_millis(1_767_225_600_000),
            days: 300,
            id_prefix: String::new(),
        }
    }
}

/// Yields the dataset's events in the order a source would deliver them.
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    config: DatasetConfig,
    campaigns: Vec<CampaignSpec>,
    next_account: usize,
    next_person: usize,
    next_event: u64,
    pending: VecDeque<Envelope>,
}

impl Generator {
    pub fn new(config: DatasetConfig) -> Self {
        let campaigns = catalogue();
        let mut generator = Generator {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            config,
            campaigns,
            next_account: 0,
            next_person: 0,
            next_event: 0,
            pending: VecDeque::new(),
        };
        generator.emit_catalogue();
        generator
    }

    fn id(&self, kind: &str, n: usize) -> String {
        format!("{}{kind}-{n:07}", self.config.id_prefix)
    }

    fn campaign_id(&self, index: usize) -> String {
        format!("{}{}", self.config.id_prefix, self.campaigns[index].id)
    }

    fn envelope(&mut self, at: i64, source_system: &str, event: Event) -> Envelope {
        self.next_event += 1;
        // Most systems record within seconds to minutes.
        let lag = self.rng.random_range(0..5 * MINUTE_MS);
        Envelope {
            event_id: format!("{}evt-{:010}", self.config.id_prefix, self.next_event),
            occurred_at: Timestamp::from_millis(at),
            recorded_at: Timestamp::from_millis(at + lag),
            source_system: source_system.to_owned(),
            event,
        }
    }

    fn emit_catalogue(&mut self) {
        let start = self.config.start.as_millis() - 30 * DAY_MS;
        for index in 0..self.campaigns.len() {
            let spec = self.campaigns[index].clone();
            let event = Event::CampaignUpserted(CampaignUpserted {
                campaign_id: self.campaign_id(index),
                name: spec.name.to_owned(),
                channel: spec.channel.to_owned(),
                medium: spec.medium.to_owned(),
                source: spec.source.to_owned(),
                ad_code: spec.ad_code.to_owned(),
                campaign_type: spec.campaign_type,
                parent_campaign_id: String::new(),
                starts_at: Timestamp::from_millis(start),
                ends_at: spec.runs_days.map(|d| {
                    Timestamp::from_millis(start + (d + 30) * DAY_MS + self.config.days * DAY_MS)
                }),
                // A free source says so (a planned 0): without any cost a
                // campaign's cost is unknown, not zero.
                planned_cost: Some(Money::new(spec.cost_minor, "EUR")),
            });
            let envelope = self.envelope(start, "marketing-automation", event);
            self.pending.push_back(envelope);
            if spec.cost_minor > 0 {
                // Spend arrives monthly from the ad platforms and vendors.
                let months = (self.config.days / 30).max(1);
                let per_month = spec.cost_minor / months;
                for month in 0..months {
                    let event = Event::CampaignCostRecorded(CampaignCostRecorded {
                        campaign_id: self.campaign_id(index),
                        cost: Money::new(per_month, "EUR"),
                        description: format!("spend, month {}", month + 1),
                    });
                    let envelope =
                        self.envelope(start + (month + 1) * 30 * DAY_MS, "finance", event);
                    self.pending.push_back(envelope);
                }
            }
        }
    }

    /// Picks a campaign index whose channel is one of `channels`, weighted by reach.
    fn pick(&mut self, channels: &[&str]) -> usize {
        let candidates: Vec<usize> = (0..self.campaigns.len())
            .filter(|&i| channels.contains(&self.campaigns[i].channel))
            .collect();
        let total: u32 = candidates.iter().map(|&i| self.campaigns[i].reach).sum();
        let mut roll = self.rng.random_range(0..total.max(1));
        for &i in &candidates {
            let reach = self.campaigns[i].reach;
            if roll < reach {
                return i;
            }
            roll -= reach;
        }
        candidates[0]
    }

    fn touch(&mut self, journey: &mut Vec<Envelope>, at: i64, person: &str, campaign: usize) {
        let spec = self.campaigns[campaign].clone();
        let touch_type = spec.touch_types[self.rng.random_range(0..spec.touch_types.len())];
        let status = match touch_type {
            TouchType::EmailSent | TouchType::LiteratureSent | TouchType::WebinarRegistered => {
                TouchStatus::Sent
            }
            _ => TouchStatus::Responded,
        };
        let asset_index = self.rng.random_range(0..spec.assets.len());
        let asset = spec.assets[asset_index].to_owned();
        // Each asset is about one product line.
        let topic = catalogue::PRODUCTS[(campaign + asset_index) % catalogue::PRODUCTS.len()];
        let event = Event::TouchRecorded(TouchRecorded {
            person_id: person.to_owned(),
            campaign_id: self.campaign_id(campaign),
            touch_type,
            status,
            asset,
            topic: topic.to_owned(),
            provenance: None,
        });
        let envelope = self.envelope(at, spec.system, event);
        journey.push(envelope);
    }

    fn journey(&mut self) {
        let account_n = self.next_account;
        self.next_account += 1;
        let account = self.id("acc", account_n);
        let day = self.rng.random_range(0..self.config.days.max(1));
        let t0 = self.config.start.as_millis()
            + day * DAY_MS
            + self.rng.random_range(8 * HOUR_MS..18 * HOUR_MS);
        let mut journey: Vec<Envelope> = Vec::new();
        let company = format!(
            "{} {}",
            catalogue::COMPANY_WORDS[account_n % 37],
            catalogue::COMPANY_SUFFIX[account_n % 5]
        );

        let people = match self.rng.random_range(0..10) {
            0..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        let mut persons = Vec::new();
        for p in 0..people {
            let person_n = self.next_person;
            self.next_person += 1;
            let person = self.id("per", person_n);
            let mut t = t0 + p as i64 * self.rng.random_range(0..20) * DAY_MS;
            // Anonymous research before the lead exists.
            let first_channels = [
                "paid_search",
                "paid_social",
                "organic",
                "content",
                "events",
                "referral",
                "inbound_call",
                "partner",
                "webinar",
            ];
            let first = self.pick(&first_channels);
            self.touch(&mut journey, t, &person, first);
            for _ in 0..self.rng.random_range(0..4) {
                t += self.rng.random_range(HOUR_MS..4 * DAY_MS);
                let c = self.pick(&[
                    "paid_search",
                    "paid_social",
                    "organic",
                    "content",
                    "webinar",
                ]);
                self.touch(&mut journey, t, &person, c);
            }
            // The lead: usually with its source at first contact, sometimes without
            // (older integrations), then the projection falls back to the first touch.
            t += self.rng.random_range(MINUTE_MS..2 * DAY_MS);
            let source = self.rng.random_bool(0.85).then(|| {
                let spec = &self.campaigns[first];
                LeadSource {
                    campaign_id: self.campaign_id(first),
                    ad_code: spec.ad_code.to_owned(),
                    medium: spec.medium.to_owned(),
                    source: spec.source.to_owned(),
                }
            });
            let first_name = catalogue::FIRST_NAMES[person_n % catalogue::FIRST_NAMES.len()];
            let last_name = catalogue::LAST_NAMES[(person_n / 7) % catalogue::LAST_NAMES.len()];
            let email = format!(
                "{}.{}@{}.example",
                first_name.to_lowercase(),
                last_name.to_lowercase(),
                company.split(' ').next().unwrap_or("co").to_lowercase()
            );
            // Partner-sourced leads and every fourth web lead arrive without an
            // owner: routing rules assign them.
            let unassigned = person_n.is_multiple_of(4)
                || source.as_ref().is_some_and(|s| s.medium == "partner");
            let lead = Event::LeadCreated(LeadCreated {
                person_id: person.clone(),
                email: email.clone(),
                phone: format!("+49 30 {:07}", person_n % 10_000_000),
                first_name: first_name.to_owned(),
                last_name: last_name.to_owned(),
                company: company.clone(),
                account_id: String::new(),
                source,
                owner_id: if unassigned {
                    String::new()
                } else {
                    format!("rep-{:02}", account_n % 12)
                },
            });
            let envelope = self.envelope(t, "crm", lead);
            journey.push(envelope);

            // Follow-up by the rep, then nurture.
            let mut follow = t + self.rng.random_range(10 * MINUTE_MS..3 * DAY_MS);
            for _ in 0..self.rng.random_range(0..3) {
                let method = [
                    ContactMethod::Call,
                    ContactMethod::Email,
                    ContactMethod::Visit,
                    ContactMethod::Letter,
                ][self.rng.random_range(0..4)];
                let outcomes = [
                    "left voicemail",
                    "interested, send pricing",
                    "not now, try next quarter",
                    "meeting booked",
                ];
                let event = Event::FollowUpLogged(FollowUpLogged {
                    person_id: person.clone(),
                    method,
                    outcome: outcomes[self.rng.random_range(0..outcomes.len())].to_owned(),
                    next_due_at: Some(Timestamp::from_millis(follow + 7 * DAY_MS)),
                    owner_id: format!("rep-{:02}", account_n % 12),
                });
                let envelope = self.envelope(follow, "crm", event);
                journey.push(envelope);
                follow += self.rng.random_range(DAY_MS..10 * DAY_MS);
            }
            for _ in 0..self.rng.random_range(1..6) {
                t += self.rng.random_range(HOUR_MS..9 * DAY_MS);
                let c = self.pick(&["email", "webinar", "literature", "content"]);
                self.touch(&mut journey, t, &person, c);
            }
            if self.rng.random_bool(0.5) {
                let qualified = self.rng.random_bool(0.6);
                let event = Event::LeadUpdated(LeadUpdated {
                    person_id: person.clone(),
                    owner_id: None,
                    status: Some(if qualified {
                        LeadStatus::Qualified
                    } else {
                        LeadStatus::Nurturing
                    }),
                    qualification: Some(Qualification {
                        need: Some(true),
                        budget: Some(qualified),
                        authority: Some(self.rng.random_bool(0.5)),
                    }),
                });
                let envelope = self.envelope(t + DAY_MS, "crm", event);
                journey.push(envelope);
            }
            // A duplicate record of the same person, found and merged later (R10).
            if self.rng.random_bool(0.02) {
                let dup_n = self.next_person;
                self.next_person += 1;
                let dup = self.id("per", dup_n);
                let c = self.pick(&["events", "webinar"]);
                self.touch(&mut journey, t + HOUR_MS, &dup, c);
                let event = Event::PersonsMerged(PersonsMerged {
                    surviving_person_id: person.clone(),
                    merged_person_id: dup,
                    reason: format!("same e-mail {email}"),
                });
                let envelope = self.envelope(t + 3 * DAY_MS, "crm", event);
                journey.push(envelope);
            }
            persons.push((person, t));
        }

        let account_event = Event::AccountUpserted(AccountUpserted {
            account_id: account.clone(),
            name: company.clone(),
            industry: catalogue::INDUSTRIES[account_n % catalogue::INDUSTRIES.len()].to_owned(),
            owner_id: format!("rep-{:02}", account_n % 12),
            parent_account_id: String::new(),
        });
        let envelope = self.envelope(t0, "crm", account_event);
        journey.push(envelope);

        if self.rng.random_bool(0.35) {
            let opportunity = self.id("opp", account_n);
            let (primary, ready) = persons[0].clone();
            let mut t = ready + self.rng.random_range(DAY_MS..20 * DAY_MS);
            let via_partner = self.rng.random_bool(0.15);
            let partner = if via_partner {
                "partner-acme".to_owned()
            } else {
                String::new()
            };
            let event = Event::LeadConverted(LeadConverted {
                person_id: primary.clone(),
                account_id: account.clone(),
                opportunity_id: opportunity.clone(),
            });
            let envelope = self.envelope(t, "crm", event);
            journey.push(envelope);
            let amount = self.rng.random_range(50..2_000) * 10_000; // 5k..200k EUR, in cents
            let event = Event::OpportunityCreated(OpportunityCreated {
                opportunity_id: opportunity.clone(),
                account_id: account.clone(),
                name: format!("{company} – platform"),
                stage: "qualification".to_owned(),
                amount: Money::new(amount, "EUR"),
                probability_pct: 20,
                expected_close_at: Some(Timestamp::from_millis(t + 60 * DAY_MS)),
                primary_contact_id: primary.clone(),
                owner_id: format!("rep-{:02}", account_n % 12),
                partner_id: partner.clone(),
            });
            let envelope = self.envelope(t, "crm", event);
            journey.push(envelope);
            for (other, _) in persons.iter().skip(1) {
                let event = Event::OpportunityContactRoleAdded(OpportunityContactRoleAdded {
                    opportunity_id: opportunity.clone(),
                    person_id: other.clone(),
                    role: ["decision maker", "influencer", "technical buyer"]
                        [self.rng.random_range(0..3)]
                    .to_owned(),
                });
                let envelope = self.envelope(t + HOUR_MS, "crm", event);
                journey.push(envelope);
            }
            for (stage, pct) in [("proposal", 50u32), ("negotiation", 75)] {
                if self.rng.random_bool(0.7) {
                    t += self.rng.random_range(3 * DAY_MS..25 * DAY_MS);
                    let event = Event::OpportunityUpdated(OpportunityUpdated {
                        opportunity_id: opportunity.clone(),
                        stage: Some(stage.to_owned()),
                        amount: None,
                        probability_pct: Some(pct),
                        expected_close_at: None,
                    });
                    let envelope = self.envelope(t, "crm", event);
                    journey.push(envelope);
                }
            }
            t += self.rng.random_range(5 * DAY_MS..40 * DAY_MS);
            let won = self.rng.random_bool(0.45);
            // A deal that would close after the dataset's last day is still open
            // then: its close and what follows are drawn (so later journeys stay
            // the same) but not emitted.
            let window_end = self.config.start.as_millis() + self.config.days * DAY_MS;
            let mut not_yet = Vec::new();
            let journey = if t > window_end {
                &mut not_yet
            } else {
                &mut journey
            };
            let event = Event::OpportunityClosed(OpportunityClosed {
                opportunity_id: opportunity.clone(),
                won,
                amount: Money::new(if won { amount } else { 0 }, "EUR"),
                partner_id: partner,
            });
            let envelope = self.envelope(t, "crm", event);
            journey.push(envelope);
            if won {
                let event = Event::TransactionRecorded(TransactionRecorded {
                    transaction_id: self.id("txn", account_n),
                    account_id: account.clone(),
                    opportunity_id: opportunity.clone(),
                    amount: Money::new(amount, "EUR"),
                    description: "first invoice".to_owned(),
                });
                let envelope = self.envelope(t + 5 * DAY_MS, "accounting", event);
                journey.push(envelope);
                for _ in 0..self.rng.random_range(0..3) {
                    t += self.rng.random_range(DAY_MS..30 * DAY_MS);
                    let c = self.pick(&["support"]);
                    self.touch(journey, t, &primary, c);
                }
            }
        }

        journey.sort_by_key(|e| e.occurred_at);
        // Some touches reach us days late: they arrive after the conversions they
        // precede, which must then be re-attributed.
        if self.rng.random_bool(0.05) {
            let (person, lead_at) = persons[0].clone();
            let at = lead_at - self.rng.random_range(HOUR_MS..5 * DAY_MS);
            let c = self.pick(&["events", "literature"]);
            self.touch(&mut journey, at, &person, c);
            if let Some(late) = journey.last_mut() {
                late.recorded_at = Timestamp::from_millis(lead_at + 2 * DAY_MS);
            }
        }
        // A producer retry: the same event delivered twice.
        if self.rng.random_bool(0.01) && !journey.is_empty() {
            let i = self.rng.random_range(0..journey.len());
            let again = journey[i].clone();
            journey.push(again);
        }
        self.pending.extend(journey);
    }
}

impl Iterator for Generator {
    type Item = Envelope;

    fn next(&mut self) -> Option<Envelope> {
        while self.pending.is_empty() && self.next_account < self.config.accounts {
            self.journey();
        }
        self.pending.pop_front()
    }
}
