//! `--synthesized include|exclude`: whether touches synthesized from other
//! data (`touchline import`'s backfill) are credited, for the reports that
//! credit touches. Absent: as `attribution.synthesized_touches` is configured
//! (the stored credits); the other choice is computed on request.

use touchline_attribution::SynthesizedTouches;

#[derive(Debug, Clone, clap::Args)]
pub struct SynthesizedArg {
    /// include or exclude touches synthesized from other data, such as the
    /// import's backfill from a legacy lead-source field (default: as
    /// configured, attribution.synthesized_touches).
    #[arg(long, value_parser = parse_synthesized)]
    pub synthesized: Option<SynthesizedTouches>,
}

impl SynthesizedArg {
    /// The choice as a query value, when one was given.
    pub fn name(&self) -> Option<String> {
        self.synthesized.map(|choice| choice.name().to_owned())
    }
}

fn parse_synthesized(text: &str) -> Result<SynthesizedTouches, String> {
    touchline_api::params::parse_synthesized(Some(text))
        .map_err(|e| e.problem.to_string())?
        .ok_or_else(|| "include or exclude".to_owned())
}
