//! touchline-api
