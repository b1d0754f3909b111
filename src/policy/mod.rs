//! The sharing policy: a Casbin enforcer behind a small interface.
//!
//! `PolicyEngine::current()` hands out an immutable [`PolicySet`] (model, validated rules, an
//! enforcer and a decision cache, all of one version). A policy change builds a whole new set and
//! swaps it in atomically, so a request decided under one version never sees another, and no
//! request waits for a lock. Casbin evaluation is slow (linear in the number of rules), and the
//! answer for one (version, role, agency, action, object) never changes, so each answer is
//! computed once and then read from the cache.
//!
//! The basis checks that turn stored facts into the question Casbin answers live in
//! [`basis`].

pub mod access;
pub mod adapter;
pub mod admin;
pub mod bases;
pub mod basis;
pub mod cases;
pub mod rules;
pub mod team;

pub use rules::{Effect, PolicyRule, RuleError, parse_policy};

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use casbin::{CoreApi, DefaultModel, Enforcer, StringAdapter};
use ring::digest;

use crate::domain::{AgencyId, Category, Role};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid policy rule: {0}")]
    Rule(#[from] RuleError),
    #[error("invalid policy model: {0}")]
    Model(String),
    #[error("policy evaluation failed: {0}")]
    Evaluate(String),
}

/// One answer of the policy for one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDecision {
    pub allowed: bool,
    /// The rules that decided, as policy lines (empty when nothing matched: deny by default).
    pub rules: Vec<String>,
}

type CacheKey = (Role, String, String, String);

/// Bound on cached answers per version; the space is small (roles × agencies × actions ×
/// categories), so this is only a guard against unbounded growth.
const CACHE_LIMIT: usize = 100_000;

/// An immutable policy version.
pub struct PolicySet {
    version: String,
    /// The stored version number, for sets loaded from the store.
    number: Option<i64>,
    model: String,
    rules: Vec<PolicyRule>,
    enforcer: Enforcer,
    cache: RwLock<HashMap<CacheKey, Arc<RuleDecision>>>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("version", &self.version)
            .field("rules", &self.rules.len())
            .finish()
    }
}

fn version_of(model: &str, rules: &[PolicyRule]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(model.as_bytes());
    for r in rules {
        ctx.update(b"\n");
        ctx.update(r.to_string().as_bytes());
    }
    // The first 8 bytes of the digest are the first 16 hex digits.
    format!(
        "sha256:{}",
        hex::encode(ctx.finish().as_ref().get(..8).unwrap_or_default())
    )
}

impl PolicySet {
    /// Builds a policy set from model text and validated rules.
    pub async fn build(model_text: &str, rules: Vec<PolicyRule>) -> Result<Self, PolicyError> {
        let model = DefaultModel::from_str(model_text)
            .await
            .map_err(|e| PolicyError::Model(e.to_string()))?;
        let csv: String = rules.iter().map(|r| format!("{r}\n")).collect();
        let enforcer = Enforcer::new(model, StringAdapter::new(csv))
            .await
            .map_err(|e| PolicyError::Model(e.to_string()))?;
        let set = Self {
            version: version_of(model_text, &rules),
            number: None,
            model: model_text.to_owned(),
            rules,
            enforcer,
            cache: RwLock::new(HashMap::new()),
        };
        // The model must answer our four-field question; a model that cannot is refused now,
        // not at the first request.
        set.decide_uncached(Role::Caseworker, "probe", "consents:read", "*")?;
        Ok(set)
    }

    /// Loads `model.conf` and `policy.csv` from a policy directory.
    pub async fn load_dir(dir: &Path) -> Result<Self, PolicyError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        let model = read("model.conf")?;
        let rules = parse_policy(&read("policy.csv")?)?;
        Self::build(&model, rules).await
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The stored version number (sets loaded from the store).
    pub fn number(&self) -> Option<i64> {
        self.number
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Loads a stored version; Casbin reads its rules through our [`adapter::StoreAdapter`].
    pub async fn from_store(store: &crate::store::Store, version: i64) -> Result<Self, PolicyError> {
        let row = store
            .policy_version(version)
            .await
            .map_err(|e| PolicyError::Evaluate(e.to_string()))?
            .ok_or_else(|| PolicyError::Model(format!("policy version {version} not found")))?;
        let rules = parse_policy(&row.rules)?;
        let model = DefaultModel::from_str(&row.model)
            .await
            .map_err(|e| PolicyError::Model(e.to_string()))?;
        let enforcer = Enforcer::new(model, adapter::StoreAdapter::new(store.clone(), version))
            .await
            .map_err(|e| PolicyError::Model(e.to_string()))?;
        let set = Self {
            version: format!("v{version}"),
            number: Some(version),
            model: row.model,
            rules,
            enforcer,
            cache: RwLock::new(HashMap::new()),
        };
        set.decide_uncached(Role::Caseworker, "probe", "consents:read", "*")?;
        Ok(set)
    }

    /// The rules as policy.csv text.
    pub fn rules_text(&self) -> String {
        self.rules.iter().map(|r| format!("{r}\n")).collect()
    }

    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    /// Asks Casbin directly, bypassing the cache (benchmarks and tests compare both).
    pub fn decide_uncached(
        &self,
        role: Role,
        agency: &str,
        action: &str,
        object: &str,
    ) -> Result<RuleDecision, PolicyError> {
        let (allowed, matched) = self
            .enforcer
            .enforce_ex((role.as_str(), agency, action, object))
            .map_err(|e| PolicyError::Evaluate(e.to_string()))?;
        let rules = matched
            .into_iter()
            .map(|fields| format!("p, {}", fields.join(", ")))
            .collect();
        Ok(RuleDecision { allowed, rules })
    }

    /// The cached answer for one question.
    pub fn decide(
        &self,
        role: Role,
        agency: &str,
        action: &str,
        object: &str,
    ) -> Result<Arc<RuleDecision>, PolicyError> {
        let key: CacheKey = (role, agency.to_owned(), action.to_owned(), object.to_owned());
        if let Ok(cache) = self.cache.read()
            && let Some(hit) = cache.get(&key)
        {
            return Ok(Arc::clone(hit));
        }
        let answer = Arc::new(self.decide_uncached(role, agency, action, object)?);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, Arc::clone(&answer));
        }
        Ok(answer)
    }

    /// May a user holding any of `roles` at `agency` perform a management `action`?
    pub fn permits(&self, roles: &[Role], agency: &AgencyId, action: &str) -> Result<bool, PolicyError> {
        for role in roles {
            if self.decide(*role, agency.as_str(), action, "*")?.allowed {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// May a user holding any of `roles` at `agency` receive `category` under `action`? Sealed
    /// categories are refused here, in code, whatever the rules say. Returns the rules that
    /// decided (the allowing rule, or every denying rule that matched).
    pub fn may_receive(
        &self,
        roles: &[Role],
        agency: &AgencyId,
        action: &str,
        category: Category,
    ) -> Result<(bool, Vec<String>), PolicyError> {
        if category.is_sealed() {
            return Ok((false, vec!["code: sealed category".to_owned()]));
        }
        let mut denying = Vec::new();
        for role in roles {
            let d = self.decide(*role, agency.as_str(), action, category.as_str())?;
            if d.allowed {
                return Ok((true, d.rules.clone()));
            }
            denying.extend(d.rules.iter().cloned());
        }
        Ok((false, denying))
    }
}

/// Holds the current policy version and swaps in new ones without blocking readers.
pub struct PolicyEngine {
    current: ArcSwap<PolicySet>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("version", &self.current().version)
            .finish()
    }
}

impl PolicyEngine {
    pub fn new(set: PolicySet) -> Self {
        Self {
            current: ArcSwap::from_pointee(set),
        }
    }

    /// The version to decide a whole request with: hold on to it for the request's lifetime.
    pub fn current(&self) -> Arc<PolicySet> {
        self.current.load_full()
    }

    /// Replaces the current version; requests in flight keep the one they hold.
    pub fn replace(&self, set: PolicySet) {
        self.current.store(Arc::new(set));
    }

    /// Seeds the store from the policy files on first start, then loads the head version.
    pub async fn open(store: &crate::store::Store, dir: &Path, now: time::OffsetDateTime) -> Result<Self, PolicyError> {
        let head = store
            .policy_head()
            .await
            .map_err(|e| PolicyError::Evaluate(e.to_string()))?;
        let head = match head {
            Some(v) => v,
            None => {
                let seed = PolicySet::load_dir(dir).await?;
                match store
                    .seed_policy_version(
                        seed.model(),
                        &seed.rules_text(),
                        "tsunagi",
                        "seeded from policies/",
                        now,
                    )
                    .await
                {
                    Ok(v) => v,
                    // Another instance seeded first.
                    Err(crate::store::StoreError::Conflict(_)) => store
                        .policy_head()
                        .await
                        .map_err(|e| PolicyError::Evaluate(e.to_string()))?
                        .ok_or_else(|| PolicyError::Model("no policy version after seeding".into()))?,
                    Err(e) => return Err(PolicyError::Evaluate(e.to_string())),
                }
            }
        };
        Ok(Self::new(PolicySet::from_store(store, head).await?))
    }

    /// Loads the head version if it is newer than the current one. Returns the new number.
    pub async fn refresh(&self, store: &crate::store::Store) -> Result<Option<i64>, PolicyError> {
        let head = store
            .policy_head()
            .await
            .map_err(|e| PolicyError::Evaluate(e.to_string()))?;
        match (head, self.current().number()) {
            (Some(h), Some(c)) if h > c => {
                self.replace(PolicySet::from_store(store, h).await?);
                Ok(Some(h))
            }
            (Some(h), None) => {
                self.replace(PolicySet::from_store(store, h).await?);
                Ok(Some(h))
            }
            _ => Ok(None),
        }
    }

    /// Every instance polls the version head, so a change applied anywhere is in force
    /// everywhere within `every` — and an instance that was down catches up at start.
    /// The watcher is one of `tasks` and ends when they are stopped.
    pub fn spawn_watcher(
        self: &Arc<Self>,
        store: crate::store::Store,
        every: std::time::Duration,
        tasks: &crate::tasks::BackgroundTasks,
    ) {
        let engine = Arc::clone(self);
        let mut shutdown = tasks.shutdown();
        tasks.spawn("policy watcher", async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                if store.is_closed() {
                    break;
                }
                match engine.refresh(&store).await {
                    Ok(Some(v)) => tracing::info!(version = v, "sharing policy version now in force"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "policy refresh failed"),
                }
            }
        });
    }
}
