//! The configuration file and its environment overrides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use touchline_attribution::{
    AttributionSettings, Lookback, Model, ModelParams, OpportunityTouches, SynthesizedTouches,
    TouchFilter,
};
use touchline_kafka::{KafkaConfig, TopicSpec};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    pub http: HttpConfig,
    pub kafka: KafkaConfig,
    pub attribution: AttributionConfig,
    /// Behavioural lead scoring (R19): half-life and points per touch type.
    pub scoring: touchline_engine::ScoringConfig,
    /// API tokens and their roles (R6).
    pub access: AccessConfig,
    /// Who new leads without an owner go to, and when a lead is overdue (R20).
    pub routing: touchline_projection::RoutingRules,
    /// Stage probabilities of the weighted pipeline forecast (R5).
    pub pipeline: touchline_engine::PipelineConfig,
    /// How logs are written.
    pub log: LogConfig,
}

/// `text` (for people) or `json` (one object per line, for collectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?} is not a log format (text or json)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// Serve the API without tokens, every caller acting as admin. Only for a
    /// machine nobody else reaches; `run` refuses to start with neither this
    /// nor a token.
    pub open: bool,
    pub tokens: Vec<touchline_api::TokenConfig>,
}

impl AccessConfig {
    /// The API's access check, or why the configuration cannot be used.
    pub fn access(&self) -> anyhow::Result<touchline_api::Access> {
        match (self.open, self.tokens.is_empty()) {
            (true, true) => Ok(touchline_api::Access::Open),
            (true, false) => {
                bail!("access: open = true and tokens are both set; choose one")
            }
            (false, true) => bail!(
                "access: no API token is configured; add [[access.tokens]] (see `touchline token new`) or set access.open = true for a local, unshared machine"
            ),
            (false, false) => touchline_api::Access::from_tokens(&self.tokens)
                .map_err(|e| anyhow::anyhow!("access.tokens: {e}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The RocksDB directory.
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Expensive requests (reports, scans, CSV exports) served at once; the
    /// next one gets 503 with `Retry-After`. `None`: twice the cores, at least 10.
    pub max_expensive_requests: Option<usize>,
    /// Largest request body accepted; a larger one gets 413.
    pub max_body_bytes: usize,
    /// A second listener serving only `/metrics`, `/healthz` and `/readyz`,
    /// without a token, for a Prometheus scraper and an orchestrator's probes.
    /// `None`: none (`/metrics` on `listen` then needs an analyst token).
    pub metrics_listen: Option<SocketAddr>,
    /// `/readyz` fails while an assigned partition is more messages behind
    /// than this. `None`: [`touchline_api::DEFAULT_READY_MAX_LAG`].
    pub ready_max_lag: Option<u64>,
    /// Serve the API over HTTPS with this certificate and key (PEM), for
    /// deployments without a TLS proxy in front. `None`: plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Sharded mode: where the other instances of the group reach this one's
    /// API (`http://host:port`), announced on the members topic. `None`:
    /// `http://<listen>` when `listen` names a host, else not announced.
    pub advertised_url: Option<String>,
    /// Sharded mode: the bearer token this instance sends when it reads the
    /// shards another instance holds (an admin token of theirs). `None`:
    /// none, for groups whose API is open.
    pub peer_token: Option<String>,
}

/// A server certificate chain and its private key, PEM files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl HttpConfig {
    /// The API's limits as configured.
    pub fn limits(&self) -> anyhow::Result<touchline_api::ApiLimits> {
        let size = match self.max_expensive_requests {
            None => touchline_api::ExpensiveGate::default_size(),
            Some(n) => std::num::NonZeroUsize::new(n)
                .context("http.max_expensive_requests must be at least 1")?,
        };
        if self.max_body_bytes == 0 {
            bail!("http.max_body_bytes must be at least 1");
        }
        Ok(touchline_api::ApiLimits {
            expensive: touchline_api::ExpensiveGate::new(size),
            max_body_bytes: self.max_body_bytes,
        })
    }

    /// Where the other instances of a sharded group reach this one:
    /// `advertised_url`, else `http://<listen>` unless `listen` is a wildcard
    /// address (0.0.0.0, ::), which names no host to reach. Only plain HTTP
    /// is read between instances.
    pub fn advertised(&self) -> anyhow::Result<Option<String>> {
        if let Some(url) = &self.advertised_url {
            if !url.starts_with("http://") {
                bail!(
                    "http.advertised_url {url:?}: instances read each other over plain HTTP, so it must start with http://"
                );
            }
            return Ok(Some(url.trim_end_matches('/').to_owned()));
        }
        if self.listen.ip().is_unspecified() || self.tls.is_some() {
            return Ok(None);
        }
        Ok(Some(format!("http://{}", self.listen)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionConfig {
    pub models: Vec<Model>,
    /// `all` touches, or only `responded` ones.
    pub filter: TouchFilter,
    /// Lookback window per conversion point, in days; absent means unlimited.
    pub lookback_days: Lookback,
    /// Time-decay half-life and custom position weights.
    pub params: ModelParams,
    /// `contact_roles`, or `account_contacts` to credit every contact of the account.
    pub opportunity_touches: OpportunityTouches,
    /// How the Markov report shares value: `journey_value`, or
    /// `last_channel_mean` as ChannelAttribution does.
    pub markov_value: touchline_attribution::data_driven::MarkovValue,
    /// `include` (the default) or `exclude` touches synthesized from other
    /// data (`touchline import`'s backfill): what the stored and published
    /// credits count.
    pub synthesized_touches: SynthesizedTouches,
}

impl AttributionConfig {
    pub fn settings(&self) -> AttributionSettings {
        AttributionSettings {
            params: self.params.clone(),
            filter: self.filter,
            lookback_days: self.lookback_days,
            opportunity_touches: self.opportunity_touches,
            synthesized_touches: self.synthesized_touches,
            markov_value: self.markov_value,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("data/touchline"),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_expensive_requests: None,
            max_body_bytes: touchline_api::limits::DEFAULT_MAX_BODY_BYTES,
            metrics_listen: None,
            ready_max_lag: None,
            tls: None,
            advertised_url: None,
            peer_token: None,
        }
    }
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig {
            models: Model::ALL.to_vec(),
            filter: TouchFilter::All,
            lookback_days: Lookback::default(),
            params: ModelParams::default(),
            opportunity_touches: OpportunityTouches::ContactRoles,
            markov_value: Default::default(),
            synthesized_touches: SynthesizedTouches::Include,
        }
    }
}

impl Config {
    /// What the engine needs from the configuration.
    pub fn engine(&self) -> touchline_engine::EngineConfig {
        touchline_engine::EngineConfig {
            models: self.attribution.models.clone(),
            settings: self.attribution.settings(),
            routing: self.routing.clone(),
        }
    }

    /// Reads the file if given, then applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.kafka.validate()?;
        config.http.limits()?;
        config
            .routing
            .validate()
            .map_err(|e| anyhow::anyhow!("routing: {e}"))?;
        config
            .pipeline
            .validate()
            .map_err(|e| anyhow::anyhow!("pipeline: {e}"))?;
        if config.attribution.models.is_empty() {
            bail!("attribution.models lists no model");
        }
        config
            .attribution
            .params
            .custom
            .validate()
            .map_err(|e| anyhow::anyhow!("attribution.params.custom: {e}"))?;
        let half_life = config.attribution.params.time_decay_half_life_days;
        if !(half_life.is_finite() && half_life > 0.0) {
            bail!(
                "attribution.params.time_decay_half_life_days must be a positive number of days, got {half_life}"
            );
        }
        Ok(config)
    }

    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("TOUCHLINE_STORE_PATH") {
            self.store.path = PathBuf::from(v);
        }
        if let Some(v) = var("TOUCHLINE_HTTP_LISTEN") {
            self.http.listen = v.parse().with_context(|| {
                format!("TOUCHLINE_HTTP_LISTEN={v:?} is not an address like 127.0.0.1:8080")
            })?;
        }
        if let Some(v) = var("TOUCHLINE_HTTP_MAX_EXPENSIVE_REQUESTS") {
            self.http.max_expensive_requests = Some(v.parse().with_context(|| {
                format!("TOUCHLINE_HTTP_MAX_EXPENSIVE_REQUESTS={v:?} is not a whole number")
            })?);
        }
        if let Some(v) = var("TOUCHLINE_HTTP_ADVERTISED_URL") {
            self.http.advertised_url = Some(v);
        }
        if let Some(v) = var("TOUCHLINE_HTTP_PEER_TOKEN") {
            self.http.peer_token = Some(v);
        }
        if let Some(v) = var("TOUCHLINE_HTTP_METRICS_LISTEN") {
            self.http.metrics_listen = Some(v.parse().with_context(|| {
                format!("TOUCHLINE_HTTP_METRICS_LISTEN={v:?} is not an address like 127.0.0.1:9100")
            })?);
        }
        match (
            var("TOUCHLINE_HTTP_TLS_CERT"),
            var("TOUCHLINE_HTTP_TLS_KEY"),
        ) {
            (Some(cert), Some(key)) => {
                self.http.tls = Some(TlsFiles {
                    cert: PathBuf::from(cert),
                    key: PathBuf::from(key),
                });
            }
            (None, None) => {}
            _ => bail!(
                "TOUCHLINE_HTTP_TLS_CERT and TOUCHLINE_HTTP_TLS_KEY go together: set both or neither"
            ),
        }
        if let Some(v) = var("TOUCHLINE_HTTP_READY_MAX_LAG") {
            self.http.ready_max_lag = Some(v.parse().with_context(|| {
                format!("TOUCHLINE_HTTP_READY_MAX_LAG={v:?} is not a whole number of messages")
            })?);
        }
        if let Some(v) = var("TOUCHLINE_LOG_FORMAT") {
            self.log.format = v
                .parse()
                .map_err(|e: String| anyhow::anyhow!("TOUCHLINE_LOG_FORMAT: {e}"))?;
        }
        for (name, target) in [
            (
                "TOUCHLINE_KAFKA_STATISTICS_INTERVAL_MS",
                &mut self.kafka.statistics_interval_ms,
            ),
            (
                "TOUCHLINE_KAFKA_ERROR_LOG_INTERVAL_MS",
                &mut self.kafka.error_log_interval_ms,
            ),
        ] {
            if let Some(v) = var(name) {
                *target = v
                    .parse()
                    .with_context(|| format!("{name}={v:?} is not a number of milliseconds"))?;
            }
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_JSON_UNKNOWN_FIELDS") {
            self.kafka.json_unknown_fields = v
                .parse()
                .map_err(|e: String| anyhow::anyhow!("TOUCHLINE_KAFKA_JSON_UNKNOWN_FIELDS: {e}"))?;
        }
        if let Some(v) = var("TOUCHLINE_HTTP_MAX_BODY_BYTES") {
            self.http.max_body_bytes = v.parse().with_context(|| {
                format!("TOUCHLINE_HTTP_MAX_BODY_BYTES={v:?} is not a whole number of bytes")
            })?;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_BROKERS") {
            self.kafka.brokers = v;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_GROUP_ID") {
            self.kafka.group_id = v;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_TOPICS") {
            self.kafka.topics = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|item| {
                    let (name, format) = item.trim().split_once(':').with_context(|| {
                        format!("TOUCHLINE_KAFKA_TOPICS: {item:?} is not name:format (format is protobuf or json)")
                    })?;
                    let format = format
                        .parse()
                        .map_err(|e: String| anyhow::anyhow!("TOUCHLINE_KAFKA_TOPICS: {e}"))?;
                    Ok(TopicSpec { name: name.to_owned(), format })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_INSTANCE_ID") {
            self.kafka.instance_id = Some(v);
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_SHARDS") {
            self.kafka.shards = v.parse().with_context(|| {
                format!("TOUCHLINE_KAFKA_SHARDS={v:?} is not a number of shards")
            })?;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS") {
            self.kafka.session_timeout_ms = v.parse().with_context(|| {
                format!("TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS={v:?} is not a number of milliseconds")
            })?;
        }
        for (name, target) in [
            (
                "TOUCHLINE_KAFKA_MAX_MESSAGE_BYTES",
                &mut self.kafka.max_message_bytes,
            ),
            (
                "TOUCHLINE_KAFKA_DEAD_LETTER_MAX_PAYLOAD_BYTES",
                &mut self.kafka.dead_letter_max_payload_bytes,
            ),
            (
                "TOUCHLINE_KAFKA_PUBLISH_MAX_MESSAGE_BYTES",
                &mut self.kafka.publish_max_message_bytes,
            ),
        ] {
            if let Some(v) = var(name) {
                *target = v
                    .parse()
                    .with_context(|| format!("{name}={v:?} is not a number of bytes"))?;
            }
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_SHUTDOWN_DRAIN_TIMEOUT_MS") {
            self.kafka.shutdown_drain_timeout_ms = v.parse().with_context(|| {
                format!(
                    "TOUCHLINE_KAFKA_SHUTDOWN_DRAIN_TIMEOUT_MS={v:?} is not a number of milliseconds"
                )
            })?;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_DEAD_LETTER_TOPIC") {
            self.kafka.dead_letter_topic = v;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_ATTRIBUTION_TOPIC") {
            self.kafka.attribution_topic = v;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_ALERTS_TOPIC") {
            self.kafka.alerts_topic = v;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_COMMANDS_TOPIC") {
            self.kafka.commands_topic = v;
        }
        if let Some(v) = var("TOUCHLINE_ACCESS_OPEN") {
            self.access.open = v
                .parse()
                .with_context(|| format!("TOUCHLINE_ACCESS_OPEN={v:?} is not true or false"))?;
        }
        if let Some(v) = var("TOUCHLINE_API_TOKENS") {
            self.access.tokens = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|item| {
                    let mut parts = item.trim().splitn(3, ':');
                    let (Some(name), Some(role), Some(sha256)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        bail!("TOUCHLINE_API_TOKENS: {item:?} is not name:role:sha256");
                    };
                    let role = role
                        .parse()
                        .map_err(|e: String| anyhow::anyhow!("TOUCHLINE_API_TOKENS: {e}"))?;
                    Ok(touchline_api::TokenConfig {
                        name: name.to_owned(),
                        role,
                        sha256: sha256.to_owned(),
                    })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = var("TOUCHLINE_KAFKA_BATCH_MAX_MESSAGES") {
            self.kafka.batch_max_messages = v.parse().with_context(|| {
                format!("TOUCHLINE_KAFKA_BATCH_MAX_MESSAGES={v:?} is not a positive integer")
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_env_overrides_it() {
        let text = include_str!("../../deploy/touchline.example.toml");
        let mut config: Config = toml::from_str(text).expect("example config parses");
        config
            .apply_env(|name| match name {
                "TOUCHLINE_KAFKA_BROKERS" => Some("kafka-1:9092,kafka-2:9092".into()),
                "TOUCHLINE_KAFKA_TOPICS" => Some("a:json, b:protobuf".into()),
                _ => None,
            })
            .expect("env applies");
        assert_eq!(config.kafka.brokers, "kafka-1:9092,kafka-2:9092");
        assert_eq!(config.kafka.topics.len(), 2);
        assert_eq!(config.kafka.topics[1].name, "b");
        // The example shows the defaults.
        assert_eq!(
            config.kafka,
            touchline_kafka::KafkaConfig {
                brokers: config.kafka.brokers.clone(),
                topics: config.kafka.topics.clone(),
                ..touchline_kafka::KafkaConfig::default()
            }
        );
    }

    #[test]
    fn limits_come_from_the_environment() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "TOUCHLINE_KAFKA_MAX_MESSAGE_BYTES" => Some("2048".into()),
                "TOUCHLINE_KAFKA_DEAD_LETTER_MAX_PAYLOAD_BYTES" => Some("0".into()),
                "TOUCHLINE_KAFKA_PUBLISH_MAX_MESSAGE_BYTES" => Some("100000".into()),
                "TOUCHLINE_KAFKA_SHUTDOWN_DRAIN_TIMEOUT_MS" => Some("1500".into()),
                _ => None,
            })
            .expect("env applies");
        assert_eq!(config.kafka.max_message_bytes, 2048);
        assert_eq!(config.kafka.dead_letter_max_payload_bytes, 0);
        assert_eq!(config.kafka.publish_max_message_bytes, 100_000);
        assert_eq!(config.kafka.shutdown_drain_timeout_ms, 1500);
        config
            .apply_env(|name| match name {
                "TOUCHLINE_HTTP_MAX_EXPENSIVE_REQUESTS" => Some("3".into()),
                "TOUCHLINE_HTTP_MAX_BODY_BYTES" => Some("1024".into()),
                _ => None,
            })
            .expect("env applies");
        let limits = config.http.limits().expect("valid");
        assert_eq!((limits.expensive.size(), limits.max_body_bytes), (3, 1024));
        config.http.max_expensive_requests = Some(0);
        let err = config.http.limits().expect_err("zero permits");
        assert!(
            err.to_string().contains("http.max_expensive_requests"),
            "{err}"
        );
        let err = config
            .apply_env(|name| (name == "TOUCHLINE_KAFKA_MAX_MESSAGE_BYTES").then(|| "1MB".into()))
            .expect_err("not a number");
        assert!(
            err.to_string()
                .contains("TOUCHLINE_KAFKA_MAX_MESSAGE_BYTES"),
            "{err}"
        );
    }

    #[test]
    fn operations_settings_come_from_the_file_and_the_environment() {
        let mut config: Config = toml::from_str(
            "[http]\nmetrics_listen = \"127.0.0.1:9100\"\nready_max_lag = 500\n[log]\nformat = \"json\"\n",
        )
        .expect("parses");
        assert_eq!(
            config.http.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9100)))
        );
        assert_eq!(
            (config.http.ready_max_lag, config.log.format),
            (Some(500), LogFormat::Json)
        );
        config
            .apply_env(|name| match name {
                "TOUCHLINE_LOG_FORMAT" => Some("text".into()),
                "TOUCHLINE_HTTP_READY_MAX_LAG" => Some("7".into()),
                "TOUCHLINE_KAFKA_STATISTICS_INTERVAL_MS" => Some("250".into()),
                _ => None,
            })
            .expect("env applies");
        assert_eq!(config.log.format, LogFormat::Text);
        assert_eq!(config.http.ready_max_lag, Some(7));
        assert_eq!(config.kafka.statistics_interval_ms, 250);
        let err = config
            .apply_env(|name| (name == "TOUCHLINE_LOG_FORMAT").then(|| "xml".into()))
            .expect_err("not a format");
        assert!(err.to_string().contains("TOUCHLINE_LOG_FORMAT"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut config = Config::default();
        let err = config
            .apply_env(|name| (name == "TOUCHLINE_KAFKA_TOPICS").then(|| "events:avro".into()))
            .expect_err("avro is not supported");
        assert!(err.to_string().contains("TOUCHLINE_KAFKA_TOPICS"), "{err}");
        let err = toml::from_str::<Config>("[kafka]\nbrokerz = \"x\"").expect_err("unknown key");
        assert!(err.to_string().contains("brokerz"), "{err}");
    }
}
