//! Support plans, their versions, roles and basis, and monitoring rounds (migration
//! 0013_support_plans; issue 11). Content and progress are sealed with the subject's data key
//! and opened only with the [`TeamRelease`] the audit log issues for a logged team read; every
//! change takes the [`Logged`] of its entry.

use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::audit::{Logged, TeamRelease};
use crate::domain::plan::{EndReason, PlanBasis, PlanContent};
use crate::domain::{AgencyId, ConsentId, PlanId, SessionId, SubjectId, UserId};

/// What access checks and lists need of a plan: nothing sealed.
#[derive(Debug, Clone)]
pub struct PlanHead {
    pub id: PlanId,
    pub subject: SubjectId,
    /// `active` or `ended`.
    pub state: String,
    pub created_by_agency: AgencyId,
    pub created_at: OffsetDateTime,
    pub current_version: i64,
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
    /// The current version's basis.
    pub basis: PlanBasis,
    /// The agencies with a role in the current version.
    pub roles: Vec<AgencyId>,
}

impl PlanHead {
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }
}

/// A version to agree: its basis, where and by whom, the content and the next monitoring dates.
#[derive(Debug, Clone)]
pub struct NewPlanVersion {
    pub basis: PlanBasis,
    pub agreed_in_session: Option<SessionId>,
    pub agreed_by_agency: AgencyId,
    pub agreed_by_user: UserId,
    pub content: PlanContent,
    pub schedule: Vec<OffsetDateTime>,
}

/// A version's facts (not sealed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionMeta {
    pub version: i64,
    pub basis_kind: String,
    pub basis_session_id: Option<String>,
    pub agreed_in_session: Option<String>,
    pub agreed_by_agency: String,
    pub agreed_by_user: String,
    #[serde(with = "time::serde::rfc3339")]
    pub agreed_at: OffsetDateTime,
}

/// One agency's row of one monitoring round (not sealed).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundMeta {
    pub round: i64,
    pub agency_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub recorded_at: Option<OffsetDateTime>,
    pub on_time: Option<bool>,
    pub recorded_by_user: Option<String>,
}

impl RoundMeta {
    /// The id of this row as a released item (`<round>/<agency>`).
    pub fn item_id(&self) -> String {
        format!("{}/{}", self.round, self.agency_id)
    }
}

/// A plan's versions and monitoring, sealed. Open with [`Store::open_plan`].
pub struct SealedPlan {
    plan: PlanId,
    subject: SubjectId,
    wrapped: crate::crypto::WrappedKey,
    versions: Vec<(VersionMeta, Vec<u8>)>,
    rounds: Vec<(RoundMeta, Option<Vec<u8>>)>,
}

impl std::fmt::Debug for SealedPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedPlan")
            .field("plan", &self.plan)
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}

impl SealedPlan {
    pub fn versions(&self) -> impl Iterator<Item = &VersionMeta> {
        self.versions.iter().map(|(m, _)| m)
    }
    pub fn rounds(&self) -> impl Iterator<Item = &RoundMeta> {
        self.rounds.iter().map(|(m, _)| m)
    }
}

/// A version with its content opened.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenedVersion {
    #[serde(flatten)]
    pub meta: VersionMeta,
    pub content: PlanContent,
}

/// A monitoring row with its progress opened (if recorded and released).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenedRound {
    #[serde(flatten)]
    pub meta: RoundMeta,
    pub progress: Option<String>,
}

/// One agency's progress for one round, to record.
#[derive(Debug, Clone, Copy)]
pub struct MonitoringEntry<'a> {
    pub round: i64,
    pub agency: &'a AgencyId,
    pub user: &'a UserId,
    pub progress: &'a str,
}

/// An overdue round (for the coordinator's list and the overdue notice): no content.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OverdueRound {
    pub plan_id: PlanId,
    pub round: i64,
    pub agency_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    #[serde(skip)]
    pub subject: SubjectId,
    #[serde(skip)]
    pub notified: bool,
}

fn version_aad(plan: PlanId, subject: SubjectId, version: i64) -> String {
    format!("tsunagi:plan-version:{subject}:{plan}:{version}:case-notes")
}

fn progress_aad(plan: PlanId, subject: SubjectId, round: i64, agency: &str) -> String {
    format!("tsunagi:plan-monitoring:{subject}:{plan}:{round}:{agency}:case-notes")
}

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid stored {what}"))
}

type HeadRow = (String, String, String, String, i64, i64, Option<i64>, Option<String>);
type VersionRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    Vec<u8>,
);
type RoundRow = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
);

const SELECT_HEAD: &str = "SELECT id, subject_id, state, created_by_agency, created_at_ms, current_version, ended_at_ms, end_reason \
     FROM support_plans";

impl Store {
    async fn insert_plan_version(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        key: &crate::crypto::DataKey,
        plan: PlanId,
        subject: SubjectId,
        version: i64,
        v: &NewPlanVersion,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_vec(&v.content).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = key.seal(version_aad(plan, subject, version).as_bytes(), &body)?;
        sqlx::query(
            "INSERT INTO plan_versions (plan_id, version, basis_kind, basis_session_id, agreed_in_session, agreed_by_agency, \
             agreed_by_user, agreed_at_ms, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(plan.to_string())
        .bind(version)
        .bind(v.basis.kind_str())
        .bind(v.basis.session().map(|s| s.to_string()))
        .bind(v.agreed_in_session.map(|s| s.to_string()))
        .bind(v.agreed_by_agency.as_str().to_owned())
        .bind(v.agreed_by_user.as_str().to_owned())
        .bind(to_ms(now))
        .bind(sealed)
        .execute(&mut **tx)
        .await?;
        if let PlanBasis::Consent { consent_ids } = &v.basis {
            for c in consent_ids {
                sqlx::query("INSERT INTO plan_basis_consents (plan_id, version, consent_id) VALUES ($1, $2, $3)")
                    .bind(plan.to_string())
                    .bind(version)
                    .bind(c.to_string())
                    .execute(&mut **tx)
                    .await?;
            }
        }
        for a in v.content.agencies() {
            sqlx::query("INSERT INTO plan_roles (plan_id, version, agency_id) VALUES ($1, $2, $3)")
                .bind(plan.to_string())
                .bind(version)
                .bind(a.as_str().to_owned())
                .execute(&mut **tx)
                .await?;
        }
        // Rounds still ahead and not recorded give way to the new schedule; so do unrecorded
        // rounds of agencies that no longer have a role. Past rounds stay (overdue stays overdue).
        sqlx::query(
            "DELETE FROM plan_monitoring WHERE plan_id = $1 AND recorded_at_ms IS NULL AND (due_at_ms > $2 OR agency_id NOT IN \
             (SELECT agency_id FROM plan_roles WHERE plan_id = $1 AND version = $3))",
        )
        .bind(plan.to_string())
        .bind(to_ms(now))
        .bind(version)
        .execute(&mut **tx)
        .await?;
        let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(round) FROM plan_monitoring WHERE plan_id = $1")
            .bind(plan.to_string())
            .fetch_one(&mut **tx)
            .await?;
        let mut round = last.unwrap_or(0);
        for due in &v.schedule {
            round += 1;
            for a in v.content.agencies() {
                sqlx::query(
                    "INSERT INTO plan_monitoring (plan_id, round, agency_id, due_at_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(plan.to_string())
                .bind(round)
                .bind(a.as_str().to_owned())
                .bind(to_ms(*due))
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Creates plan `id` about `subject` with its first version, after the entry (`_logged`).
    pub async fn create_plan(
        &self,
        id: PlanId,
        subject: SubjectId,
        first: &NewPlanVersion,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        let key = self.data_key(subject).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO support_plans (id, subject_id, state, created_by_agency, created_by_user, created_at_ms, current_version) \
             VALUES ($1, $2, 'active', $3, $4, $5, 1)",
        )
        .bind(id.to_string())
        .bind(subject.to_string())
        .bind(first.agreed_by_agency.as_str().to_owned())
        .bind(first.agreed_by_user.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        Self::insert_plan_version(&mut tx, &key, id, subject, 1, first, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Agrees version `expected + 1` of an active plan, after the entry (`_logged`).
    /// `Conflict("plan_ended")` or `Conflict("version_conflict")` (someone agreed another
    /// version first) change nothing.
    pub async fn add_plan_version(
        &self,
        plan: &PlanHead,
        expected: i64,
        v: &NewPlanVersion,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<i64, StoreError> {
        let key = self.data_key(plan.subject).await?;
        let next = expected + 1;
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(
            "UPDATE support_plans SET current_version = $1 WHERE id = $2 AND current_version = $3 AND state = 'active'",
        )
        .bind(next)
        .bind(plan.id.to_string())
        .bind(expected)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("version_conflict"));
        }
        Self::insert_plan_version(&mut tx, &key, plan.id, plan.subject, next, v, now).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Ends an active plan (終結) with a reason, after the entry (`_logged`); team access ends.
    pub async fn end_plan(
        &self,
        plan: PlanId,
        reason: EndReason,
        by: &AgencyId,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE support_plans SET state = 'ended', ended_at_ms = $1, end_reason = $2, ended_by_agency = $3 \
             WHERE id = $4 AND state = 'active'",
        )
        .bind(to_ms(now))
        .bind(reason.as_str())
        .bind(by.as_str().to_owned())
        .bind(plan.to_string())
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict("plan_ended"))
        }
    }

    async fn head_from_row(&self, r: HeadRow) -> Result<PlanHead, StoreError> {
        let id = PlanId::parse(&r.0).map_err(|_| bad("plan id"))?;
        let version = r.5;
        let basis_row: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT basis_kind, basis_session_id FROM plan_versions WHERE plan_id = $1 AND version = $2",
        )
        .bind(r.0.clone())
        .bind(version)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        let (kind, session) = basis_row.ok_or_else(|| bad("plan version"))?;
        let basis = if kind == "support-meeting" {
            let s = session.ok_or_else(|| bad("plan basis session"))?;
            PlanBasis::SupportMeeting {
                session_id: SessionId::parse(&s).map_err(|_| bad("session id"))?,
            }
        } else {
            let ids: Vec<(String,)> = sqlx::query_as(
                "SELECT consent_id FROM plan_basis_consents WHERE plan_id = $1 AND version = $2 ORDER BY consent_id",
            )
            .bind(r.0.clone())
            .bind(version)
            .fetch_all(&mut *self.conn().await?)
            .await?;
            PlanBasis::Consent {
                consent_ids: ids
                    .iter()
                    .map(|(c,)| ConsentId::parse(c).map_err(|_| bad("consent id")))
                    .collect::<Result<_, _>>()?,
            }
        };
        let roles: Vec<(String,)> =
            sqlx::query_as("SELECT agency_id FROM plan_roles WHERE plan_id = $1 AND version = $2 ORDER BY agency_id")
                .bind(r.0.clone())
                .bind(version)
                .fetch_all(&mut *self.conn().await?)
                .await?;
        Ok(PlanHead {
            id,
            subject: SubjectId::parse(&r.1).map_err(|_| bad("subject id"))?,
            state: r.2,
            created_by_agency: AgencyId::parse(&r.3).map_err(|_| bad("agency id"))?,
            created_at: from_ms(r.4)?,
            current_version: version,
            ended_at: r.6.map(from_ms).transpose()?,
            end_reason: r.7,
            basis,
            roles: roles
                .iter()
                .map(|(a,)| AgencyId::parse(a).map_err(|_| bad("agency id")))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A plan's head (no content), or `None`.
    pub async fn plan_head(&self, id: PlanId) -> Result<Option<PlanHead>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT_HEAD} WHERE id = $1"));
        let row: Option<HeadRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        match row {
            Some(r) => Ok(Some(self.head_from_row(r).await?)),
            None => Ok(None),
        }
    }

    /// Plans in which `agency` has a role in the current version, or that it created, newest
    /// first (no content).
    pub async fn plans_of_agency(&self, agency: &AgencyId) -> Result<Vec<PlanHead>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_HEAD} p WHERE p.created_by_agency = $1 OR EXISTS (SELECT 1 FROM plan_roles r WHERE r.plan_id = p.id \
             AND r.version = p.current_version AND r.agency_id = $1) ORDER BY p.created_at_ms DESC, p.id"
        ));
        let rows: Vec<HeadRow> = sqlx::query_as(sql)
            .bind(agency.as_str().to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.head_from_row(r).await?);
        }
        Ok(out)
    }

    /// A plan's versions and monitoring rows, sealed.
    pub async fn sealed_plan(&self, plan: &PlanHead) -> Result<SealedPlan, StoreError> {
        let versions: Vec<VersionRow> = sqlx::query_as(
            "SELECT version, basis_kind, basis_session_id, agreed_in_session, agreed_by_agency, agreed_by_user, agreed_at_ms, \
             content FROM plan_versions WHERE plan_id = $1 ORDER BY version",
        )
        .bind(plan.id.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let rounds: Vec<RoundRow> = sqlx::query_as(
            "SELECT round, agency_id, due_at_ms, recorded_at_ms, on_time, recorded_by_user, progress FROM plan_monitoring \
             WHERE plan_id = $1 ORDER BY round, agency_id",
        )
        .bind(plan.id.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let (bytes, kek_id): (Vec<u8>, String) =
            sqlx::query_as("SELECT wrapped_key, kek_id FROM subjects WHERE id = $1")
                .bind(plan.subject.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await?
                .ok_or(StoreError::NotFound("subject"))?;
        Ok(SealedPlan {
            plan: plan.id,
            subject: plan.subject,
            wrapped: crate::crypto::WrappedKey { kek_id, bytes },
            versions: versions
                .into_iter()
                .map(|v| {
                    Ok((
                        VersionMeta {
                            version: v.0,
                            basis_kind: v.1,
                            basis_session_id: v.2,
                            agreed_in_session: v.3,
                            agreed_by_agency: v.4,
                            agreed_by_user: v.5,
                            agreed_at: from_ms(v.6)?,
                        },
                        v.7,
                    ))
                })
                .collect::<Result<_, StoreError>>()?,
            rounds: rounds
                .into_iter()
                .map(|r| {
                    Ok((
                        RoundMeta {
                            round: r.0,
                            agency_id: r.1,
                            due_at: from_ms(r.2)?,
                            recorded_at: r.3.map(from_ms).transpose()?,
                            on_time: r.4.map(|v| v != 0),
                            recorded_by_user: r.5,
                        },
                        r.6,
                    ))
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }

    /// Opens exactly the versions and progress entries a durable team-read entry released
    /// (items `plan-version`/`<n>` and `monitoring`/`<round>/<agency>`); everything else stays
    /// sealed (monitoring rows not released come back without progress; versions not released
    /// are left out).
    pub fn open_plan(
        &self,
        sealed: &SealedPlan,
        release: &TeamRelease,
    ) -> Result<(Vec<OpenedVersion>, Vec<OpenedRound>), StoreError> {
        if release.subject() != sealed.subject || release.plan_id() != sealed.plan.to_string() {
            return Err(StoreError::Corrupt("release does not match the plan".into()));
        }
        let needs_key = sealed
            .versions
            .iter()
            .any(|(m, _)| release.covers("plan-version", &m.version.to_string()))
            || sealed
                .rounds
                .iter()
                .any(|(m, p)| p.is_some() && release.covers("monitoring", &m.item_id()));
        if !needs_key {
            let rounds = sealed
                .rounds
                .iter()
                .map(|(m, _)| OpenedRound {
                    meta: m.clone(),
                    progress: None,
                })
                .collect();
            return Ok((Vec::new(), rounds));
        }
        let key = self.unwrap_data_key(sealed.subject, &sealed.wrapped)?;
        let mut versions = Vec::new();
        for (m, ct) in &sealed.versions {
            if !release.covers("plan-version", &m.version.to_string()) {
                continue;
            }
            let plain = key.open(version_aad(sealed.plan, sealed.subject, m.version).as_bytes(), ct)?;
            let content: PlanContent =
                serde_json::from_slice(&plain).map_err(|_| StoreError::Corrupt("plan content".into()))?;
            versions.push(OpenedVersion {
                meta: m.clone(),
                content,
            });
        }
        let mut rounds = Vec::new();
        for (m, ct) in &sealed.rounds {
            let progress = match ct {
                Some(ct) if release.covers("monitoring", &m.item_id()) => {
                    let plain = key.open(
                        progress_aad(sealed.plan, sealed.subject, m.round, &m.agency_id).as_bytes(),
                        ct,
                    )?;
                    Some(String::from_utf8(plain).map_err(|_| StoreError::Corrupt("progress is not UTF-8".into()))?)
                }
                _ => None,
            };
            rounds.push(OpenedRound {
                meta: m.clone(),
                progress,
            });
        }
        Ok((versions, rounds))
    }

    /// Records `agency`'s progress for `round`, after the entry (`_logged`). Returns whether it
    /// was on time (by due + `grace_ms`). `NotFound("round")` when the agency has no such row,
    /// `Conflict("already_recorded")` when it was recorded before.
    pub async fn record_monitoring(
        &self,
        plan: &PlanHead,
        entry: &MonitoringEntry<'_>,
        grace_ms: i64,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<bool, StoreError> {
        let MonitoringEntry {
            round,
            agency,
            user,
            progress,
        } = *entry;
        let key = self.data_key(plan.subject).await?;
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT due_at_ms, recorded_at_ms FROM plan_monitoring WHERE plan_id = $1 AND round = $2 AND agency_id = $3",
        )
        .bind(plan.id.to_string())
        .bind(round)
        .bind(agency.as_str().to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        let (due, recorded) = row.ok_or(StoreError::NotFound("round"))?;
        if recorded.is_some() {
            return Err(StoreError::Conflict("already_recorded"));
        }
        let on_time = to_ms(now) <= due.saturating_add(grace_ms);
        let sealed = key.seal(
            progress_aad(plan.id, plan.subject, round, agency.as_str()).as_bytes(),
            progress.as_bytes(),
        )?;
        let n = sqlx::query(
            "UPDATE plan_monitoring SET recorded_at_ms = $1, on_time = $2, recorded_by_user = $3, progress = $4 \
             WHERE plan_id = $5 AND round = $6 AND agency_id = $7 AND recorded_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(i64::from(on_time))
        .bind(user.as_str().to_owned())
        .bind(sealed)
        .bind(plan.id.to_string())
        .bind(round)
        .bind(agency.as_str().to_owned())
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        if n == 1 {
            Ok(on_time)
        } else {
            Err(StoreError::Conflict("already_recorded"))
        }
    }

    /// The earliest unrecorded round of `agency` in a plan, if any.
    pub async fn next_round_of(&self, plan: PlanId, agency: &AgencyId) -> Result<Option<i64>, StoreError> {
        let (round,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(round) FROM plan_monitoring WHERE plan_id = $1 AND agency_id = $2 AND recorded_at_ms IS NULL",
        )
        .bind(plan.to_string())
        .bind(agency.as_str().to_owned())
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(round)
    }

    /// Rounds of active plans not recorded by due + `grace_ms` at `now` (overdue), oldest first.
    pub async fn overdue_rounds(&self, now: OffsetDateTime, grace_ms: i64) -> Result<Vec<OverdueRound>, StoreError> {
        let rows: Vec<(String, i64, String, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT m.plan_id, m.round, m.agency_id, m.due_at_ms, p.subject_id, m.overdue_notified_at_ms \
             FROM plan_monitoring m JOIN support_plans p ON p.id = m.plan_id \
             WHERE p.state = 'active' AND m.recorded_at_ms IS NULL AND m.due_at_ms < $1 \
             ORDER BY m.due_at_ms, m.plan_id, m.round, m.agency_id",
        )
        .bind(to_ms(now).saturating_sub(grace_ms))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(OverdueRound {
                    plan_id: PlanId::parse(&r.0).map_err(|_| bad("plan id"))?,
                    round: r.1,
                    agency_id: r.2,
                    due_at: from_ms(r.3)?,
                    subject: SubjectId::parse(&r.4).map_err(|_| bad("subject id"))?,
                    notified: r.5.is_some(),
                })
            })
            .collect()
    }

    /// Marks an overdue round as told (after the entry of the notice, `_logged`). False when
    /// another instance told it first.
    pub async fn mark_overdue_notified(
        &self,
        r: &OverdueRound,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE plan_monitoring SET overdue_notified_at_ms = $1 WHERE plan_id = $2 AND round = $3 AND agency_id = $4 \
             AND overdue_notified_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(r.plan_id.to_string())
        .bind(r.round)
        .bind(r.agency_id.clone())
        .execute(&mut *self.conn().await?)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}
