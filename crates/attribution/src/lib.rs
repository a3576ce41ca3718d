//! touchline-attribution
