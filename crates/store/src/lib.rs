//! touchline-store
