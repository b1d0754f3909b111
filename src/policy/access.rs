//! Access rules that need stored facts as well as roles: who may run a meeting body (its
//! secretariat agency, with the `meetings:write` permission), who may read a session (the
//! `meetings:read` permission, or a current member of that session's roster) and who may see a
//! consent record (the agency that recorded it), and which log entries a privacy officer or an
//! agency may read ([`log_scope`], [`proof_scope`]). Kept here, beside the Casbin permissions, so
//! handlers only ask.

use time::OffsetDateTime;

use super::{PolicyError, PolicySet};
use crate::principal::Principal;
use crate::store::{Body, RosterEntry};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Refused; `code` is the stable reason.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn refused(code: &'static str, message: impl Into<String>) -> AccessError {
    AccessError::Refused {
        code,
        message: message.into(),
    }
}

/// A consent record (with its evidence) is visible only to the agency that recorded it; other
/// agencies learn of a consent only through what a disclosure under it releases.
pub fn consent_visible(who: &Principal, recorded_by: &crate::domain::AgencyId) -> bool {
    &who.agency == recorded_by
}

/// A management action the policy must permit for the principal's roles at their agency.
pub fn permitted(set: &PolicySet, who: &Principal, action: &str) -> Result<(), AccessError> {
    if set.permits(&who.roles, &who.agency, action)? {
        Ok(())
    } else {
        Err(refused(
            "forbidden_by_policy",
            format!("your roles at your agency may not perform '{action}'"),
        ))
    }
}

/// Only the body's secretariat agency runs it.
pub fn secretariat(set: &PolicySet, who: &Principal, body: &Body) -> Result<(), AccessError> {
    permitted(set, who, "meetings:write")?;
    if who.agency != body.secretariat_agency {
        return Err(refused(
            "not_secretariat",
            "only the body's secretariat agency may do this",
        ));
    }
    Ok(())
}

/// Privacy officers and the secretariat (`meetings:read`), and current members of the roster.
pub fn session_reader(
    set: &PolicySet,
    who: &Principal,
    roster: &[RosterEntry],
    now: OffsetDateTime,
) -> Result<(), AccessError> {
    if permitted(set, who, "meetings:read").is_ok() {
        return Ok(());
    }
    let on_roster = roster.iter().any(|e| {
        e.user_id == who.user.as_str() && e.agency_id == who.agency.as_str() && e.removed_at.is_none_or(|t| t > now)
    });
    if on_roster {
        Ok(())
    } else {
        Err(refused(
            "not_on_roster",
            "only the session's roster and privacy officers may read it",
        ))
    }
}

/// Which log entries a reader may see: the value the store's log reads take, so an entry outside
/// it cannot be returned by forgetting a filter. Made only by [`log_scope`] and [`proof_scope`]:
///
/// ```compile_fail,E0451
/// let everything = tsunagi::policy::access::LogScope { reach: unimplemented!() };
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogScope {
    reach: Reach,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Ward-wide oversight: every entry.
    Everything,
    /// Entries whose requesting (for events: acting) or owning agency is one of these.
    Agencies {
        label: String,
        agencies: std::collections::BTreeSet<String>,
    },
}

impl LogScope {
    /// The agencies an entry must involve (as requester, actor or owner); `None` for every entry.
    pub fn agencies(&self) -> Option<&std::collections::BTreeSet<String>> {
        match &self.reach {
            Reach::Everything => None,
            Reach::Agencies { agencies, .. } => Some(agencies),
        }
    }

    /// Whether the scope reaches the whole log.
    pub fn is_ward_wide(&self) -> bool {
        self.reach == Reach::Everything
    }

    /// Whether an entry with these requesting and owning agencies is in scope.
    pub fn covers(&self, requester: Option<&str>, owner: Option<&str>) -> bool {
        match &self.reach {
            Reach::Everything => true,
            Reach::Agencies { agencies, .. } => [requester, owner].into_iter().flatten().any(|a| agencies.contains(a)),
        }
    }

    /// How the scope is written in `log-read` entries: `ward-wide`, `organ:<id>` or `agency:<id>`.
    pub fn label(&self) -> &str {
        match &self.reach {
            Reach::Everything => "ward-wide",
            Reach::Agencies { label, .. } => label,
        }
    }
}

/// The log a privacy officer (`audit:read`) may read: every entry when their agency is on the
/// configured ward-wide list (`[oversight] ward_wide` in `policies/bases.toml`), otherwise the
/// entries of their own organ — those whose requesting (or acting) or owning agency belongs to
/// it. A contracted corporation's officer therefore reads only entries that involve it.
pub fn log_scope(
    set: &PolicySet,
    who: &Principal,
    agencies: &std::collections::HashMap<crate::domain::AgencyId, crate::store::Agency>,
    oversight: &super::bases::OversightRules,
) -> Result<LogScope, AccessError> {
    permitted(set, who, "audit:read")?;
    if oversight.ward_wide.contains(&who.agency) {
        return Ok(LogScope {
            reach: Reach::Everything,
        });
    }
    let mut members: std::collections::BTreeSet<String> = agencies
        .values()
        .filter(|a| a.organ == who.organ)
        .map(|a| a.id.to_string())
        .collect();
    members.insert(who.agency.to_string());
    Ok(LogScope {
        reach: Reach::Agencies {
            label: format!("organ:{}", who.organ),
            agencies: members,
        },
    })
}

/// Whose inclusion proofs a caller may fetch: a privacy officer's [`log_scope`], or else (with
/// `audit:proof`) the entries their own agency requested or owns.
pub fn proof_scope(
    set: &PolicySet,
    who: &Principal,
    agencies: &std::collections::HashMap<crate::domain::AgencyId, crate::store::Agency>,
    oversight: &super::bases::OversightRules,
) -> Result<LogScope, AccessError> {
    if permitted(set, who, "audit:read").is_ok() {
        return log_scope(set, who, agencies, oversight);
    }
    permitted(set, who, "audit:proof")?;
    Ok(LogScope {
        reach: Reach::Agencies {
            label: format!("agency:{}", who.agency),
            agencies: std::collections::BTreeSet::from([who.agency.to_string()]),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::{AgencyId, OrganId, Role, UserId};
    use crate::policy::bases::OversightRules;
    use crate::store::{Agency, OrganKind};

    fn registry() -> HashMap<AgencyId, Agency> {
        [
            (
                "regional-support-centre",
                "regional-support-operator",
                OrganKind::Private,
            ),
            ("jobota", "ota-ward", OrganKind::Public),
            ("sapota", "ota-ward", OrganKind::Public),
            ("welfare-coordination", "ota-ward", OrganKind::Public),
        ]
        .into_iter()
        .map(|(a, o, kind)| {
            let id = AgencyId::parse(a).unwrap();
            let agency = Agency {
                id: id.clone(),
                name: a.into(),
                organ: OrganId::parse(o).unwrap(),
                organ_kind: kind,
            };
            (id, agency)
        })
        .collect()
    }

    fn who(agency: &str, role: &str) -> Principal {
        let agencies = registry();
        let id = AgencyId::parse(agency).unwrap();
        Principal {
            user: UserId::parse("someone").unwrap(),
            organ: agencies[&id].organ.clone(),
            agency: id,
            roles: vec![Role::parse(role).unwrap()],
            cert_fingerprint: String::new(),
        }
    }

    #[tokio::test]
    async fn officers_read_their_organ_and_the_configured_agencies_everything() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let set = PolicySet::load_dir(&dir).await.unwrap();
        let oversight = OversightRules {
            ward_wide: vec![AgencyId::parse("welfare-coordination").unwrap()],
        };
        let agencies = registry();
        let scope = |a: &str, r: &str| log_scope(&set, &who(a, r), &agencies, &oversight);

        let rsc = scope("regional-support-centre", "privacy-officer").unwrap();
        assert_eq!(rsc.label(), "organ:regional-support-operator");
        assert!(rsc.covers(Some("jobota"), Some("regional-support-centre")));
        assert!(!rsc.covers(Some("jobota"), Some("sapota")));
        assert!(!rsc.covers(None, None));

        let ward = scope("jobota", "privacy-officer").unwrap();
        assert_eq!(ward.label(), "organ:ota-ward");
        assert!(ward.covers(Some("welfare-coordination"), None));
        assert!(!ward.covers(Some("regional-support-centre"), Some("regional-support-centre")));
        assert!(!ward.is_ward_wide());

        let wide = scope("welfare-coordination", "privacy-officer").unwrap();
        assert!(wide.is_ward_wide() && wide.agencies().is_none());
        assert!(wide.covers(None, None));

        // Not an officer: no log scope, and inclusion proofs only for their own agency.
        assert!(scope("jobota", "caseworker").is_err());
        let own = proof_scope(&set, &who("jobota", "caseworker"), &agencies, &oversight).unwrap();
        assert_eq!(own.label(), "agency:jobota");
        assert!(own.covers(None, Some("jobota")) && !own.covers(Some("sapota"), None));
    }
}
