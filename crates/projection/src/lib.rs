//! touchline-projection
