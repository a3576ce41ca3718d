//! touchline-datagen
