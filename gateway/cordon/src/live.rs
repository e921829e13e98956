//! Building what sessions share from a configuration. The same function serves the start-up
//! and every config applied through the config port, so a live config is built exactly as a
//! booted one.

use std::sync::Arc;

use cordon_config::Config;

use cordon_proxy::dlp_inspector::{DlpInspectors, Durable};
use cordon_proxy::inspect::InspectorFactory;
use cordon_proxy::session::Shared;
use cordon_proxy::{engine, server};

use crate::error::Error;

/// What a configuration becomes: the sessions' shared state, and the inspectors (kept apart
/// for the config port's dry runs).
#[derive(Debug, Clone)]
pub struct Built {
    pub shared: Arc<Shared>,
    pub inspectors: Arc<DlpInspectors>,
}

/// Builds the engine, the inspectors and the TLS material of `config` around `durable`.
pub fn build(config: Arc<Config>, generation: u64, durable: &Durable) -> Result<Built, Error> {
    let edm = crate::edm::load(&config);
    let fingerprints = crate::fingerprints::load(&config, &edm);
    let engine = engine::build_with_stores(&config, edm, fingerprints)?;
    build_with(engine, config, generation, durable)
}

/// [`build`] with the engine already built (at start, where the counters need its names).
pub fn build_with(
    engine: Arc<cordon_dlp::Engine>,
    config: Arc<Config>,
    generation: u64,
    durable: &Durable,
) -> Result<Built, Error> {
    let inspectors = Arc::new(DlpInspectors {
        engine,
        config: Arc::clone(&config),
        durable: durable.clone(),
    });
    let shared = server::shared(
        generation,
        config,
        Arc::clone(&inspectors) as Arc<dyn InspectorFactory>,
        Arc::clone(&durable.counters),
    )?;
    Ok(Built {
        shared: Arc::new(shared),
        inspectors,
    })
}
