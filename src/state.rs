//! What every request needs, built once at start-up and shared by all workers.

use std::collections::HashMap;
use std::sync::Arc;

use crate::audit::AuditLog;
use crate::audit::alerts::Alerts;
use crate::audit::checkpointer::Checkpointer;
use crate::clock::Clock;
use crate::crypto::Pseudonymizer;
use crate::domain::AgencyId;
use crate::policy::PolicyEngine;
use crate::policy::bases::BasesConfig;
use crate::store::{Agency, Store};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub audit: AuditLog,
    pub policy: Arc<PolicyEngine>,
    pub pseudonyms: Arc<Pseudonymizer>,
    pub clock: Arc<dyn Clock>,
    /// The agency registry (agency → organ), loaded from the store.
    pub agencies: Arc<HashMap<AgencyId, Agency>>,
    /// The token issuer's keys (a file, or discovered and refreshed).
    pub jwt: Arc<crate::issuer_keys::IssuerKeys>,
    /// Local configuration of the lawful bases (`policies/bases.toml`).
    pub bases: Arc<BasesConfig>,
    pub policy_admin: crate::config::PolicyAdminConfig,
    /// Signs checkpoints; holds the log's keys.
    pub checkpoints: Checkpointer,
    /// Raises and checks privacy officers' alerts.
    pub alerts: Alerts,
    /// The server's TLS material in force (its dates for `/readyz`).
    pub tls: Arc<crate::tls_reload::TlsMaterial>,
    /// The free space under an SQLite database (`/readyz`, the low-disk alert).
    pub disk: crate::health::DiskWatch,
    /// The longest wait for the database (`database_acquire_timeout_ms`).
    pub database_wait: std::time::Duration,
    /// The configured witnesses and how many cosignatures make a checkpoint witnessed.
    pub witnesses: Arc<crate::audit::witnessing::WitnessPolicy>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}
