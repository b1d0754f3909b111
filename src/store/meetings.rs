//! Support meetings (支援会議, Social Welfare Act Art. 106-6) and statutory conferences: bodies,
//! versioned pledges, sessions, rosters, agenda items, information requests and follow-up
//! assignments — the stored facts the meeting bases are checked against.

use serde::Serialize;
use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::domain::{
    AgencyId, AgendaItemId, BodyId, BodyKind, HouseholdId, InfoRequestId, SessionId, SubjectId, UserId,
};

#[derive(Debug, Clone, Serialize)]
pub struct Body {
    pub id: BodyId,
    pub kind: BodyKind,
    pub conference_type: Option<String>,
    pub name: String,
    pub legal_basis: String,
    pub rules_text: String,
    pub secretariat_agency: AgencyId,
    pub window_days: i64,
    pub pledge_version: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub body_id: BodyId,
    #[serde(with = "time::serde::rfc3339")]
    pub held_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub agenda_published_at: Option<OffsetDateTime>,
    pub decision_summary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RosterEntry {
    pub user_id: String,
    pub agency_id: String,
    /// `member` or `attendee` (named by the chair for this session only).
    pub attendance: String,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
    /// Set when the person left: a former member, still bound by the duty of confidentiality.
    #[serde(with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgendaItem {
    pub id: AgendaItemId,
    pub subject_id: Option<SubjectId>,
    pub household_id: Option<HouseholdId>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InfoRequest {
    pub id: InfoRequestId,
    pub session_id: SessionId,
    pub asked_agency: AgencyId,
    pub subject_id: SubjectId,
    pub recipient_user: String,
    pub recipient_agency: AgencyId,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUp {
    pub subject_id: SubjectId,
    pub user_id: String,
    pub agency_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

type SessionRow = (String, String, i64, Option<i64>, Option<String>);
type AgendaRow = (String, Option<String>, Option<String>, Option<i64>);

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid stored {what}"))
}

fn opt_ms(v: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    v.map(from_ms).transpose()
}

/// A new body as the secretariat describes it.
#[derive(Debug, Clone)]
pub struct NewBody {
    pub kind: BodyKind,
    pub conference_type: Option<String>,
    pub name: String,
    pub legal_basis: String,
    pub rules_text: String,
    pub secretariat_agency: AgencyId,
    pub window_days: i64,
    pub pledge_text: String,
}

impl Store {
    pub async fn create_body(&self, b: &NewBody, by: &UserId, now: OffsetDateTime) -> Result<BodyId, StoreError> {
        let id = BodyId::new_random();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO bodies (id, kind, conference_type, name, legal_basis, rules_text, secretariat_agency, window_days, \
             created_by_user, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.to_string())
        .bind(b.kind.as_str())
        .bind(b.conference_type.clone())
        .bind(b.name.clone())
        .bind(b.legal_basis.clone())
        .bind(b.rules_text.clone())
        .bind(b.secretariat_agency.as_str().to_owned())
        .bind(b.window_days)
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO pledge_texts (body_id, version, text, created_at_ms) VALUES ($1, 1, $2, $3)")
            .bind(id.to_string())
            .bind(b.pledge_text.clone())
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn body(&self, id: BodyId) -> Result<Option<Body>, StoreError> {
        type Row = (String, String, Option<String>, String, String, String, String, i64, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT b.id, b.kind, b.conference_type, b.name, b.legal_basis, b.rules_text, b.secretariat_agency, b.window_days, \
             (SELECT COALESCE(MAX(version), 0) FROM pledge_texts p WHERE p.body_id = b.id) FROM bodies b WHERE b.id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(Body {
                id: BodyId::parse(&r.0).map_err(|_| bad("body id"))?,
                kind: match r.1.as_str() {
                    "support-meeting" => BodyKind::SupportMeeting,
                    "statutory-conference" => BodyKind::StatutoryConference,
                    _ => return Err(bad("body kind")),
                },
                conference_type: r.2,
                name: r.3,
                legal_basis: r.4,
                rules_text: r.5,
                secretariat_agency: AgencyId::parse(&r.6).map_err(|_| bad("agency"))?,
                window_days: r.7,
                pledge_version: r.8,
            })
        })
        .transpose()
    }

    /// Publishes a new version of the body's pledge text; earlier acceptances stop counting.
    pub async fn add_pledge_text(&self, body: BodyId, text: &str, now: OffsetDateTime) -> Result<i64, StoreError> {
        let (version,): (i64,) = sqlx::query_as(
            "INSERT INTO pledge_texts (body_id, version, text, created_at_ms) \
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM pledge_texts WHERE body_id = $1 RETURNING version",
        )
        .bind(body.to_string())
        .bind(text.to_owned())
        .bind(to_ms(now))
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(version)
    }

    /// Records that `user` accepted the body's current pledge text; returns its version.
    pub async fn accept_pledge(
        &self,
        body: BodyId,
        user: &UserId,
        agency: &AgencyId,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        let (version,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM pledge_texts WHERE body_id = $1")
                .bind(body.to_string())
                .fetch_one(&mut *self.conn().await?)
                .await?;
        if version == 0 {
            return Err(StoreError::NotFound("body"));
        }
        if self.has_current_pledge(body, user).await? {
            return Ok(version);
        }
        sqlx::query(
            "INSERT INTO pledges (body_id, user_id, agency_id, version, accepted_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(body.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(version)
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(version)
    }

    /// Whether `user` accepted the body's current pledge version.
    pub async fn has_current_pledge(&self, body: BodyId, user: &UserId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT p.version FROM pledges p WHERE p.body_id = $1 AND p.user_id = $2 \
             AND p.version = (SELECT MAX(version) FROM pledge_texts t WHERE t.body_id = $1)",
        )
        .bind(body.to_string())
        .bind(user.as_str().to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.is_some())
    }

    pub async fn create_session(
        &self,
        body: BodyId,
        held_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<SessionId, StoreError> {
        let id = SessionId::new_random();
        sqlx::query("INSERT INTO sessions (id, body_id, held_at_ms, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(body.to_string())
            .bind(to_ms(held_at))
            .bind(to_ms(now))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(id)
    }

    pub async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, body_id, held_at_ms, agenda_published_at_ms, decision_summary FROM sessions WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(Session {
                id: SessionId::parse(&r.0).map_err(|_| bad("session id"))?,
                body_id: BodyId::parse(&r.1).map_err(|_| bad("body id"))?,
                held_at: from_ms(r.2)?,
                agenda_published_at: opt_ms(r.3)?,
                decision_summary: r.4,
            })
        })
        .transpose()
    }

    pub async fn publish_agenda(&self, session: SessionId, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET agenda_published_at_ms = $1 WHERE id = $2 AND agenda_published_at_ms IS NULL")
            .bind(to_ms(now))
            .bind(session.to_string())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn set_decision_summary(&self, session: SessionId, text: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET decision_summary = $1 WHERE id = $2")
            .bind(text.to_owned())
            .bind(session.to_string())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Adds a member or attendee to a session's roster (again, if they had left).
    pub async fn add_to_roster(
        &self,
        session: SessionId,
        user: &UserId,
        agency: &AgencyId,
        attendance: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM roster WHERE session_id = $1 AND user_id = $2")
            .bind(session.to_string())
            .bind(user.as_str().to_owned())
            .execute(&mut *self.conn().await?)
            .await?;
        sqlx::query(
            "INSERT INTO roster (session_id, user_id, agency_id, attendance, added_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(attendance.to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// A member leaves the body: access ends at once in every session; the rows stay, marked.
    pub async fn remove_member(&self, body: BodyId, user: &UserId, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE roster SET removed_at_ms = $1 WHERE user_id = $2 AND removed_at_ms IS NULL \
             AND session_id IN (SELECT id FROM sessions WHERE body_id = $3)",
        )
        .bind(to_ms(now))
        .bind(user.as_str().to_owned())
        .bind(body.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn roster(&self, session: SessionId) -> Result<Vec<RosterEntry>, StoreError> {
        let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT user_id, agency_id, attendance, added_at_ms, removed_at_ms FROM roster WHERE session_id = $1 ORDER BY added_at_ms, user_id",
        )
        .bind(session.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(RosterEntry {
                    user_id: r.0,
                    agency_id: r.1,
                    attendance: r.2,
                    added_at: from_ms(r.3)?,
                    removed_at: opt_ms(r.4)?,
                })
            })
            .collect()
    }

    pub async fn add_agenda_item(
        &self,
        session: SessionId,
        subject: Option<SubjectId>,
        household: Option<HouseholdId>,
        now: OffsetDateTime,
    ) -> Result<AgendaItemId, StoreError> {
        let id = AgendaItemId::new_random();
        sqlx::query("INSERT INTO agenda_items (id, session_id, subject_id, household_id, added_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(session.to_string())
            .bind(subject.map(|s| s.to_string()))
            .bind(household.map(|h| h.to_string()))
            .bind(to_ms(now))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(id)
    }

    pub async fn remove_agenda_item(
        &self,
        session: SessionId,
        item: AgendaItemId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE agenda_items SET removed_at_ms = $1 WHERE id = $2 AND session_id = $3 AND removed_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(item.to_string())
        .bind(session.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("agenda_item"));
        }
        Ok(())
    }

    pub async fn agenda(&self, session: SessionId) -> Result<Vec<AgendaItem>, StoreError> {
        let rows: Vec<AgendaRow> = sqlx::query_as(
            "SELECT id, subject_id, household_id, removed_at_ms FROM agenda_items WHERE session_id = $1 ORDER BY added_at_ms, id",
        )
        .bind(session.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(AgendaItem {
                    id: AgendaItemId::parse(&r.0).map_err(|_| bad("agenda item id"))?,
                    subject_id: r
                        .1
                        .map(|s| SubjectId::parse(&s).map_err(|_| bad("subject id")))
                        .transpose()?,
                    household_id: r
                        .2
                        .map(|h| HouseholdId::parse(&h).map_err(|_| bad("household id")))
                        .transpose()?,
                    removed_at: opt_ms(r.3)?,
                })
            })
            .collect()
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one column per argument: a row struct would only rename them"
    )]
    pub async fn create_info_request(
        &self,
        session: SessionId,
        asked: &AgencyId,
        subject: SubjectId,
        recipient_user: &UserId,
        recipient_agency: &AgencyId,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<InfoRequestId, StoreError> {
        let id = InfoRequestId::new_random();
        sqlx::query(
            "INSERT INTO info_requests (id, session_id, asked_agency, subject_id, recipient_user, recipient_agency, created_by_user, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(session.to_string())
        .bind(asked.as_str().to_owned())
        .bind(subject.to_string())
        .bind(recipient_user.as_str().to_owned())
        .bind(recipient_agency.as_str().to_owned())
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(id)
    }

    pub async fn info_requests(&self, session: SessionId) -> Result<Vec<InfoRequest>, StoreError> {
        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, session_id, asked_agency, subject_id, recipient_user, recipient_agency FROM info_requests \
             WHERE session_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(session.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(InfoRequest {
                    id: InfoRequestId::parse(&r.0).map_err(|_| bad("request id"))?,
                    session_id: SessionId::parse(&r.1).map_err(|_| bad("session id"))?,
                    asked_agency: AgencyId::parse(&r.2).map_err(|_| bad("agency"))?,
                    subject_id: SubjectId::parse(&r.3).map_err(|_| bad("subject id"))?,
                    recipient_user: r.4,
                    recipient_agency: AgencyId::parse(&r.5).map_err(|_| bad("agency"))?,
                })
            })
            .collect()
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one column per argument: a row struct would only rename them"
    )]
    pub async fn add_followup(
        &self,
        session: SessionId,
        subject: SubjectId,
        user: &UserId,
        agency: &AgencyId,
        until: OffsetDateTime,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO followups (id, session_id, subject_id, user_id, agency_id, until_ms, created_by_user, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(session.to_string())
        .bind(subject.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(to_ms(until))
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn followups(&self, session: SessionId) -> Result<Vec<FollowUp>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT subject_id, user_id, agency_id, until_ms FROM followups WHERE session_id = $1 ORDER BY created_at_ms",
        )
        .bind(session.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(FollowUp {
                    subject_id: SubjectId::parse(&r.0).map_err(|_| bad("subject id"))?,
                    user_id: r.1,
                    agency_id: r.2,
                    until: from_ms(r.3)?,
                })
            })
            .collect()
    }

    /// Disclosures recorded under a session (entries whose basis reference is the session).
    pub async fn entries_for_reference(&self, reference: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, entry FROM audit_entries WHERE basis_ref = $1 ORDER BY idx")
                .bind(reference.to_owned())
                .fetch_all(&mut *self.conn().await?)
                .await?;
        rows.into_iter()
            .map(|(i, e)| Ok((u64::try_from(i).map_err(|_| bad("index"))?, e)))
            .collect()
    }
}
