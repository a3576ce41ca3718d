use touchline_core::{CampaignType, TouchType};

/// One campaign of the generated catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub channel: &'static str,
    pub medium: &'static str,
    pub source: &'static str,
    pub ad_code: &'static str,
    pub campaign_type: CampaignType,
    /// Total spend over the dataset, in euro cents; zero for free sources (R15).
    pub cost_minor: i64,
    /// `None`: never ends.
    pub runs_days: Option<i64>,
    /// Relative weight when a journey picks a campaign of this channel.
    pub reach: u32,
    pub touch_types: &'static [TouchType],
    pub assets: &'static [&'static str],
    /// The system that reports its touches.
    pub system: &'static str,
}

macro_rules! campaign {
    ($id:literal, $name:literal, $channel:literal, $medium:literal, $source:literal, $ad:literal, $ty:ident,
     $cost:expr, $runs:expr, $reach:literal, [$($tt:ident),+], [$($asset:literal),+], $system:literal) => {
        CampaignSpec {
            id: $id, name: $name, channel: $channel, medium: $medium, source: $source, ad_code: $ad,
            campaign_type: CampaignType::$ty, cost_minor: $cost, runs_days: $runs, reach: $reach,
            touch_types: &[$(TouchType::$tt),+], assets: &[$($asset),+], system: $system,
        }
    };
}

/// The campaigns every generated dataset uses.
pub fn catalogue() -> Vec<CampaignSpec> {
    vec![
        campaign!(
            "cmp-google-brand",
            "Google Ads – Brand",
            "paid_search",
            "cpc",
            "google",
            "GA-BR-01",
            Advertisement,
            1_800_000,
            Some(365),
            6,
            [AdClick],
            ["/pricing", "/"],
            "google-ads"
        ),
        campaign!(
            "cmp-google-generic",
            "Google Ads – Attribution keywords",
            "paid_search",
            "cpc",
            "google",
            "GA-GN-07",
            Advertisement,
            4_500_000,
            Some(365),
            8,
            [AdClick],
            ["/attribution", "/compare"],
            "google-ads"
        ),
        campaign!(
            "cmp-linkedin-abm",
            "LinkedIn ABM – CMOs",
            "paid_social",
            "paid_social",
            "linkedin",
            "LI-ABM-3",
            Advertisement,
            3_200_000,
            Some(180),
            6,
            [AdClick],
            ["carousel-roi", "video-demo"],
            "linkedin"
        ),
        campaign!(
            "cmp-organic",
            "Organic search",
            "organic",
            "organic",
            "google",
            "",
            Website,
            0,
            None,
            10,
            [WebVisit],
            ["/blog/multi-touch", "/blog/u-shaped", "/docs"],
            "web-analytics"
        ),
        campaign!(
            "cmp-whitepaper",
            "Whitepaper: State of B2B Attribution",
            "content",
            "content",
            "website",
            "WP-2026",
            Content,
            900_000,
            Some(240),
            7,
            [FormFill],
            ["state-of-b2b-attribution.pdf"],
            "marketing-automation"
        ),
        campaign!(
            "cmp-ebook",
            "E-book: Pipeline Math",
            "content",
            "content",
            "website",
            "EB-PM",
            Content,
            400_000,
            Some(240),
            4,
            [FormFill],
            ["pipeline-math.pdf"],
            "marketing-automation"
        ),
        campaign!(
            "cmp-webinar-101",
            "Webinar: Attribution 101",
            "webinar",
            "webinar",
            "on24",
            "WB-101",
            Webinar,
            600_000,
            Some(120),
            5,
            [WebinarRegistered, WebinarAttended],
            ["attribution-101"],
            "webinar-platform"
        ),
        campaign!(
            "cmp-webinar-deep",
            "Webinar: Markov chains for marketers",
            "webinar",
            "webinar",
            "on24",
            "WB-MKV",
            Webinar,
            700_000,
            Some(120),
            3,
            [WebinarRegistered, WebinarAttended],
            ["markov-for-marketers"],
            "webinar-platform"
        ),
        campaign!(
            "cmp-tradeshow",
            "Trade show: B2B Marketing Expo",
            "events",
            "event",
            "expo",
            "TS-EXPO",
            TradeShow,
            6_000_000,
            Some(3),
            4,
            [Event, Meeting],
            ["booth-scan", "demo-at-booth"],
            "event-app"
        ),
        campaign!(
            "cmp-newsletter",
            "Monthly newsletter",
            "email",
            "email",
            "newsletter",
            "NL",
            Email,
            150_000,
            None,
            8,
            [EmailSent, EmailOpen, EmailClick],
            ["newsletter"],
            "marketing-automation"
        ),
        campaign!(
            "cmp-nurture",
            "Nurture track: evaluators",
            "email",
            "email",
            "nurture",
            "NT-EVAL",
            Email,
            250_000,
            None,
            8,
            [EmailSent, EmailOpen, EmailClick],
            ["nurture-1", "nurture-2", "nurture-3"],
            "marketing-automation"
        ),
        campaign!(
            "cmp-casestudy-kit",
            "Literature: case study kit",
            "literature",
            "direct_mail",
            "fulfillment",
            "LIT-CS",
            DirectMail,
            300_000,
            None,
            5,
            [LiteratureSent, LiteratureResponded],
            ["case-study-kit", "pricing-sheet"],
            "fulfillment"
        ),
        campaign!(
            "cmp-referral",
            "Customer referral",
            "referral",
            "referral",
            "customer",
            "",
            Referral,
            0,
            None,
            3,
            [Referral],
            ["referral"],
            "crm"
        ),
        campaign!(
            "cmp-inbound-call",
            "Inbound phone call",
            "inbound_call",
            "phone",
            "switchboard",
            "",
            InboundCall,
            0,
            None,
            2,
            [Call],
            ["sales-line"],
            "call-centre"
        ),
        campaign!(
            "cmp-partner-acme",
            "Partner: Acme Resellers",
            "partner",
            "partner",
            "acme",
            "PRT-ACME",
            Partner,
            1_200_000,
            None,
            2,
            [Meeting],
            ["partner-briefing"],
            "partner-portal"
        ),
        campaign!(
            "cmp-support",
            "Support desk",
            "support",
            "support",
            "helpdesk",
            "",
            Support,
            0,
            None,
            1,
            [SupportCase],
            ["trial-question", "how-to", "bug-report"],
            "support-desk"
        ),
    ]
}

/// Product lines touches are about (account interest, R18).
pub(crate) const PRODUCTS: [&str; 4] = ["analytics", "automation", "integrations", "security"];

pub(crate) const COMPANY_WORDS: [&str; 37] = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Adatum",
    "Proseware",
    "Lucerne",
    "Margie",
    "Alpine",
    "Bluefin",
    "Cobalt",
    "Datum",
    "Everest",
    "Falcon",
    "Granite",
    "Harbor",
    "Ironwood",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tundra",
    "Umber",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
    "Atlas",
];

pub(crate) const COMPANY_SUFFIX: [&str; 5] = ["GmbH", "Ltd", "Inc", "AG", "BV"];

pub(crate) const INDUSTRIES: [&str; 6] = [
    "software",
    "manufacturing",
    "logistics",
    "finance",
    "healthcare",
    "retail",
];

pub(crate) const FIRST_NAMES: [&str; 12] = [
    "Ada", "Ben", "Chloe", "Dario", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Luca",
];

pub(crate) const LAST_NAMES: [&str; 10] = [
    "Schmidt", "Novak", "Rossi", "Dubois", "Jansen", "Kowalski", "Svensson", "Murphy", "Garcia",
    "Weber",
];
