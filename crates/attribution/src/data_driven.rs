//! Data-driven attribution (Markov chain removal effect, Shapley value). Being written.
