//! Readers know what the engine computes: the configured models are stored
//! with the results they produced.

use std::sync::Arc;

use touchline_attribution::Model;
use touchline_engine::{Engine, EngineConfig, Queries};
use touchline_store::Store;

#[test]
fn the_configured_models_are_read_from_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let queries = Queries::new(store.clone());
    assert_eq!(queries.configured_models().expect("read"), None);
    let config = EngineConfig {
        models: vec![Model::LastTouch, Model::FirstTouch],
        ..EngineConfig::default()
    };
    drop(Engine::open(store, config).expect("open engine"));
    assert_eq!(
        queries.configured_models().expect("read"),
        Some(vec![Model::LastTouch, Model::FirstTouch])
    );
}
