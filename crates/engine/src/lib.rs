//! touchline-engine
