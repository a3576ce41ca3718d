//! `touchline import`: backfill from an old system's lead export (R16).
//!
//! The old system knew one lead-source field per lead. The import turns every
//! distinct source into a campaign (referral and inbound call too, without a
//! cost, which the export does not know, so reports say it is unknown, and
//! without an end), and every lead into a `lead_created` event and one touch
//! of its source's campaign, both dated at the lead's creation, not today.
//! That touch is synthesized, not recorded, and says so in its provenance
//! ([`PROVENANCE_SOURCE`]), so reports can leave it out.
//! Event ids derive from the lead id and the source, so running the import
//! again appends nothing. A bad row is reported with its line number and the
//! reason; the good rows go in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use touchline_core::{
    CampaignType, CampaignUpserted, Envelope, Event, LeadCreated, LeadSource, Timestamp,
    TouchProvenance, TouchRecorded, TouchStatus, TouchType,
};
use touchline_engine::{Batch, Engine};
use touchline_store::Store;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The CSV file: a header row naming at least lead_id, created_at and
    /// lead_source; optional email, phone, first_name, last_name, company, owner.
    pub file: PathBuf,
    /// TOML config file (store path, routing, Kafka); environment variables
    /// override it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Produce the events to the commands topic for a running engine to
    /// append, instead of writing a stopped engine's store.
    #[arg(long)]
    pub via_kafka: bool,
}

/// A row that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// What a file becomes: campaigns first, then per lead its creation and touch.
#[derive(Debug, Default)]
pub struct Plan {
    pub events: Vec<Envelope>,
    pub leads: usize,
    pub campaigns: usize,
    pub bad: Vec<BadRow>,
}

const REQUIRED: [&str; 3] = ["lead_id", "created_at", "lead_source"];

/// What every touch the import makes says it was synthesized from.
pub const PROVENANCE_SOURCE: &str = "legacy lead_source field (touchline import)";

/// The campaign id of a legacy source: `legacy-` and the source in lower-case
/// letters and digits joined by dashes (`Inbound Call` → `legacy-inbound-call`).
pub fn campaign_id(source: &str) -> String {
    let mut slug = String::new();
    for word in source
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_lowercase());
    }
    format!("legacy-{slug}")
}

/// Sources that are not marketing programmes still become campaigns (R15);
/// their type says what they were.
fn classify(source: &str) -> (CampaignType, TouchType) {
    let s = source.to_lowercase();
    if s.contains("referr") {
        (CampaignType::Referral, TouchType::Referral)
    } else if s.contains("call") || s.contains("phone") {
        (CampaignType::InboundCall, TouchType::Call)
    } else if s.contains("partner") {
        (CampaignType::Partner, TouchType::Referral)
    } else if s.contains("show") || s.contains("event") || s.contains("fair") {
        (CampaignType::TradeShow, TouchType::Event)
    } else if s.contains("webinar") {
        (CampaignType::Webinar, TouchType::WebinarAttended)
    } else if s.contains("mail") {
        (CampaignType::Email, TouchType::EmailClick)
    } else if s.contains("web") || s.contains("seo") || s.contains("organic") {
        (CampaignType::Website, TouchType::FormFill)
    } else if s.contains("ad") || s.contains("ppc") || s.contains("cpc") {
        (CampaignType::Advertisement, TouchType::AdClick)
    } else {
        (CampaignType::Other, TouchType::FormFill)
    }
}

/// Reads the whole file into a plan. Fails only if the file cannot be read or
/// lacks a required column; everything wrong with a row is a [`BadRow`].
pub fn plan(reader: impl std::io::Read, recorded_at: Timestamp) -> anyhow::Result<Plan> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(reader);
    let headers = csv.headers().context("cannot read the header row")?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    for name in REQUIRED {
        if column(name).is_none() {
            anyhow::bail!(
                "the header row has no {name} column (it has: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let columns: BTreeMap<&str, Option<usize>> = [
        "lead_id",
        "created_at",
        "lead_source",
        "email",
        "phone",
        "first_name",
        "last_name",
        "company",
        "owner",
    ]
    .into_iter()
    .map(|name| (name, column(name)))
    .collect();

    let mut plan = Plan::default();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    // campaign id -> (source as written, earliest lead)
    let mut campaigns: BTreeMap<String, (String, Timestamp)> = BTreeMap::new();
    let mut leads = Vec::new();
    for record in csv.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                plan.bad.push(BadRow {
                    line,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let field = |name: &str| {
            columns
                .get(name)
                .copied()
                .flatten()
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let bad = |reason: String| BadRow { line, reason };
        let lead_id = field("lead_id");
        let source = field("lead_source");
        let created = field("created_at");
        if lead_id.is_empty() {
            plan.bad.push(bad("lead_id is empty".into()));
            continue;
        }
        if source.is_empty() {
            plan.bad
                .push(bad(format!("lead {lead_id}: lead_source is empty")));
            continue;
        }
        let Some(created_at) = Timestamp::parse_lenient(&created) else {
            plan.bad.push(bad(format!(
                "lead {lead_id}: created_at {created:?} is not a date (2019-03-01) or RFC 3339 time"
            )));
            continue;
        };
        if created_at.as_millis() <= 0 {
            plan.bad.push(bad(format!(
                "lead {lead_id}: created_at {created} is before 1970"
            )));
            continue;
        }
        if created_at > recorded_at {
            plan.bad.push(bad(format!(
                "lead {lead_id}: created_at {created} is in the future"
            )));
            continue;
        }
        if let Some(first) = seen.get(&lead_id) {
            plan.bad
                .push(bad(format!("lead {lead_id} is already on line {first}")));
            continue;
        }
        seen.insert(lead_id.clone(), line);
        let campaign = campaign_id(&source);
        let entry = campaigns
            .entry(campaign.clone())
            .or_insert_with(|| (source.clone(), created_at));
        entry.1 = entry.1.min(created_at);
        leads.push((
            line,
            lead_id,
            created_at,
            campaign,
            source,
            LeadCreated {
                person_id: String::new(),
                email: field("email"),
                phone: field("phone"),
                first_name: field("first_name"),
                last_name: field("last_name"),
                company: field("company"),
                account_id: String::new(),
                source: None,
                owner_id: field("owner"),
            },
        ));
    }

    let envelope = |event_id: String, occurred_at: Timestamp, event: Event| Envelope {
        event_id,
        occurred_at,
        recorded_at,
        source_system: "touchline.import".into(),
        event,
    };
    // Every event is checked as ingest would check it: a row that would make an
    // invalid event is a bad row, not a surprise in the dead-letter topic.
    let mut bad_campaigns: BTreeMap<String, String> = BTreeMap::new();
    for (id, (source, first)) in &campaigns {
        let (campaign_type, _) = classify(source);
        let event = envelope(
            format!("import/campaign/{id}"),
            *first,
            Event::CampaignUpserted(CampaignUpserted {
                campaign_id: id.clone(),
                name: source.clone(),
                channel: "legacy".into(),
                medium: String::new(),
                source: source.clone(),
                ad_code: String::new(),
                campaign_type,
                parent_campaign_id: String::new(),
                starts_at: *first,
                ends_at: None,
                planned_cost: None,
            }),
        );
        match event.validate() {
            Ok(()) => plan.events.push(event),
            Err(e) => {
                bad_campaigns.insert(
                    id.clone(),
                    format!("lead_source makes campaign {id:?}: {e}"),
                );
            }
        }
    }
    plan.campaigns = campaigns.len() - bad_campaigns.len();
    for (line, lead_id, created_at, campaign, source, mut lead) in leads {
        if let Some(reason) = bad_campaigns.get(&campaign) {
            plan.bad.push(BadRow {
                line,
                reason: format!("lead {lead_id}: {reason}"),
            });
            continue;
        }
        lead.person_id.clone_from(&lead_id);
        lead.source = Some(LeadSource {
            campaign_id: campaign.clone(),
            ad_code: String::new(),
            medium: String::new(),
            source: source.clone(),
        });
        let (_, touch_type) = classify(&source);
        let events = [
            envelope(
                format!("import/lead/{lead_id}"),
                created_at,
                Event::LeadCreated(lead),
            ),
            envelope(
                format!("import/touch/{lead_id}/{campaign}"),
                created_at,
                Event::TouchRecorded(TouchRecorded {
                    person_id: lead_id.clone(),
                    campaign_id: campaign,
                    touch_type,
                    status: TouchStatus::Responded,
                    asset: String::new(),
                    topic: String::new(),
                    provenance: Some(TouchProvenance::synthesized(PROVENANCE_SOURCE)),
                }),
            ),
        ];
        if let Some(e) = events.iter().find_map(|e| e.validate().err()) {
            plan.bad.push(BadRow {
                line,
                reason: format!("lead {lead_id}: {e}"),
            });
            continue;
        }
        plan.events.extend(events);
        plan.leads += 1;
    }
    plan.bad.sort_by_key(|b| b.line);
    Ok(plan)
}

pub fn run(args: ImportArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let plan = plan(std::io::BufReader::new(file), Timestamp::now())
        .with_context(|| format!("{}", args.file.display()))?;
    if args.via_kafka {
        config.kafka.validate()?;
        let producer = touchline_kafka::CommandProducer::new(&config.kafka)?;
        let bar = progress_bar(plan.events.len());
        producer.produce_all(&plan.events, |n| bar.set_position(n as u64))?;
        bar.finish_and_clear();
        println!(
            "{}: {} leads from {} sources; {} events produced to {} (the engine appends them; ones already in the log are skipped as duplicates)",
            args.file.display(),
            plan.leads,
            plan.campaigns,
            plan.events.len(),
            producer.topic()
        );
        report_bad_rows(&plan.bad);
        return Ok(());
    }
    let store = open_store(&config.store.path)?;
    let mut engine = Engine::open(store, config.engine())?;

    let bar = progress_bar(plan.events.len());
    let (mut appended, mut duplicates) = (0usize, 0usize);
    for chunk in plan.events.chunks(5_000) {
        let outcome = engine.apply(Batch {
            events: chunk.to_vec(),
            ..Batch::default()
        })?;
        appended += outcome.appended;
        duplicates += outcome.duplicates;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "{}: {} leads from {} sources; {appended} events appended, {duplicates} already in the log",
        args.file.display(),
        plan.leads,
        plan.campaigns
    );
    report_bad_rows(&plan.bad);
    Ok(())
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn report_bad_rows(bad: &[BadRow]) {
    if !bad.is_empty() {
        eprintln!("{} rows not imported:", bad.len());
        for row in bad {
            eprintln!("  line {}: {}", row.line, row.reason);
        }
    }
}

pub(crate) fn open_store(path: &Path) -> anyhow::Result<Arc<Store>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("store.path: cannot create {}", parent.display()))?;
    }
    Ok(Arc::new(Store::open(path).with_context(|| {
        format!(
            "store.path {}: cannot open the store (is an engine running on it? stop it first)",
            path.display()
        )
    })?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse_lenient("2026-11-01").unwrap()
    }

    #[test]
    fn sources_become_campaigns_and_each_lead_one_touch_at_its_creation() {
        let csv = "\
lead_id,created_at,lead_source,email
L1,2019-03-01,Customer Referral,ann@example.com
L2,2019-02-01,Inbound Call,
L3,2019-04-01T10:00:00Z,customer referral,bob@example.com
";
        let plan = plan(csv.as_bytes(), now()).unwrap();
        assert!(plan.bad.is_empty(), "{:?}", plan.bad);
        assert_eq!((plan.leads, plan.campaigns), (3, 2));
        let ids: Vec<(&str, String)> = plan
            .events
            .iter()
            .map(|e| (e.event_id.as_str(), e.occurred_at.to_string()))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "import/campaign/legacy-customer-referral",
                    "2019-03-01T00:00:00.000Z".into()
                ),
                (
                    "import/campaign/legacy-inbound-call",
                    "2019-02-01T00:00:00.000Z".into()
                ),
                ("import/lead/L1", "2019-03-01T00:00:00.000Z".into()),
                (
                    "import/touch/L1/legacy-customer-referral",
                    "2019-03-01T00:00:00.000Z".into()
                ),
                ("import/lead/L2", "2019-02-01T00:00:00.000Z".into()),
                (
                    "import/touch/L2/legacy-inbound-call",
                    "2019-02-01T00:00:00.000Z".into()
                ),
                ("import/lead/L3", "2019-04-01T10:00:00.000Z".into()),
                (
                    "import/touch/L3/legacy-customer-referral",
                    "2019-04-01T10:00:00.000Z".into()
                ),
            ]
        );
        let Event::CampaignUpserted(c) = &plan.events[1].event else {
            panic!("a campaign first")
        };
        assert_eq!(c.campaign_type, CampaignType::InboundCall);
        assert_eq!((c.planned_cost.clone(), c.ends_at), (None, None));
        assert!(plan.events.iter().all(|e| e.recorded_at == now()));
    }

    #[test]
    fn every_touch_the_import_makes_is_marked_synthesized_from_the_legacy_field() {
        let csv = "lead_id,created_at,lead_source\nL1,2019-03-01,Web\nL2,2019-03-02,Trade Show\n";
        let plan = plan(csv.as_bytes(), now()).unwrap();
        let touches: Vec<&TouchRecorded> = plan
            .events
            .iter()
            .filter_map(|e| match &e.event {
                Event::TouchRecorded(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(touches.len(), 2);
        for touch in touches {
            assert_eq!(
                touch.provenance,
                Some(TouchProvenance::synthesized(
                    "legacy lead_source field (touchline import)"
                ))
            );
        }
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_the_rest_still_planned() {
        let csv = "\
lead_id,created_at,lead_source
L1,2019-03-01,Web
,2019-03-01,Web
L3,yesterday,Web
L4,2019-03-01,
L1,2019-05-01,Web
L6,2030-01-01,Web
L7,2019-03-01,Web,extra
L8,2019-03-02,Trade Show
L9,1901-01-01,Web
L10\u{7},2019-03-02,Web
L11,2019-03-02,Web
";
        let plan = plan(csv.as_bytes(), now()).unwrap();
        let bad: Vec<(u64, &str)> = plan
            .bad
            .iter()
            .map(|b| (b.line, b.reason.as_str()))
            .collect();
        assert_eq!(bad.len(), 8, "{bad:?}");
        assert_eq!(bad[0], (3, "lead_id is empty"));
        assert!(
            bad[1].0 == 4 && bad[1].1.contains("created_at \"yesterday\""),
            "{bad:?}"
        );
        assert_eq!(bad[2], (5, "lead L4: lead_source is empty"));
        assert_eq!(bad[3], (6, "lead L1 is already on line 2"));
        assert!(bad[4].0 == 7 && bad[4].1.contains("future"), "{bad:?}");
        assert_eq!(bad[5].0, 8);
        assert_eq!(
            bad[6],
            (10, "lead L9: created_at 1901-01-01 is before 1970")
        );
        assert!(
            bad[7].0 == 11 && bad[7].1.contains("control characters"),
            "{bad:?}"
        );
        assert_eq!(plan.leads, 3);
        // Every planned event passes the check ingest applies.
        assert!(plan.events.iter().all(|e| e.validate().is_ok()));
    }

    #[test]
    fn a_file_without_the_source_column_is_refused_by_name() {
        let err = plan("lead_id,created_at\nL1,2019-01-01\n".as_bytes(), now()).unwrap_err();
        assert!(err.to_string().contains("lead_source"), "{err}");
    }
}
