//! Where events made by touchline's own users enter (a lead re-routed through
//! the API): they take the same path as every other event, so the log stays
//! the one record of what happened.

use std::sync::{Arc, Mutex};

use touchline_core::Envelope;

use crate::{Batch, Engine};

/// Takes one new event towards the log. `Ok` means accepted: applied already
/// (an engine) or durably queued for ingest (a Kafka topic).
pub trait EventSink: Send + Sync {
    fn submit(&self, envelope: Envelope) -> Result<(), String>;
}

/// Applies events straight to an engine: for a process that owns its engine
/// and reads no Kafka (the demo, tests).
#[derive(Debug, Clone)]
pub struct EngineSink(pub Arc<Mutex<Engine>>);

impl EventSink for EngineSink {
    fn submit(&self, envelope: Envelope) -> Result<(), String> {
        envelope.validate().map_err(|e| e.to_string())?;
        let mut engine = self
            .0
            .lock()
            .map_err(|_| "the engine is unavailable after a failure".to_owned())?;
        engine
            .apply(Batch {
                events: vec![envelope],
                ..Batch::default()
            })
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
