//! touchline-kafka
