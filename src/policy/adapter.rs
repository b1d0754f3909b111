//! Our Casbin adapter: reads one immutable policy version from the store (the published
//! `sqlx-adapter` needs another sqlx version and cannot serve SQLite and PostgreSQL together).
//! Read-only by design: changes go through proposals (`policy::admin`), never through Casbin's
//! management API.

use async_trait::async_trait;
use casbin::{Adapter, Filter, Model};

use super::parse_policy;
use crate::store::Store;

pub struct StoreAdapter {
    store: Store,
    version: i64,
}

impl StoreAdapter {
    pub fn new(store: Store, version: i64) -> Self {
        Self { store, version }
    }
}

fn adapter_error(message: String) -> casbin::Error {
    casbin::Error::from(casbin::error::AdapterError(Box::new(std::io::Error::other(message))))
}

fn read_only<T>() -> casbin::Result<T> {
    Err(adapter_error(
        "the policy store is read-only through Casbin: change it with a proposal".into(),
    ))
}

#[async_trait]
impl Adapter for StoreAdapter {
    async fn load_policy(&mut self, m: &mut dyn Model) -> casbin::Result<()> {
        let row = self
            .store
            .policy_version(self.version)
            .await
            .map_err(|e| adapter_error(e.to_string()))?
            .ok_or_else(|| adapter_error(format!("policy version {} not found", self.version)))?;
        // Every stored rule is validated again before Casbin sees it.
        let rules = parse_policy(&row.rules).map_err(|e| adapter_error(e.to_string()))?;
        for r in rules {
            m.add_policy(
                "p",
                "p",
                vec![r.role, r.agency, r.action, r.object, r.effect.as_str().to_owned()],
            );
        }
        Ok(())
    }

    async fn load_filtered_policy<'a>(&mut self, m: &mut dyn Model, _f: Filter<'a>) -> casbin::Result<()> {
        self.load_policy(m).await
    }

    async fn save_policy(&mut self, _m: &mut dyn Model) -> casbin::Result<()> {
        read_only()
    }

    async fn clear_policy(&mut self) -> casbin::Result<()> {
        read_only()
    }

    fn is_filtered(&self) -> bool {
        false
    }

    async fn add_policy(&mut self, _sec: &str, _ptype: &str, _rule: Vec<String>) -> casbin::Result<bool> {
        read_only()
    }

    async fn add_policies(&mut self, _sec: &str, _ptype: &str, _rules: Vec<Vec<String>>) -> casbin::Result<bool> {
        read_only()
    }

    async fn remove_policy(&mut self, _sec: &str, _ptype: &str, _rule: Vec<String>) -> casbin::Result<bool> {
        read_only()
    }

    async fn remove_policies(&mut self, _sec: &str, _ptype: &str, _rules: Vec<Vec<String>>) -> casbin::Result<bool> {
        read_only()
    }

    async fn remove_filtered_policy(
        &mut self,
        _sec: &str,
        _ptype: &str,
        _field_index: usize,
        _field_values: Vec<String>,
    ) -> casbin::Result<bool> {
        read_only()
    }
}
