//! Support meetings (支援会議, Social Welfare Act Art. 106-6) and statutory conferences: bodies,
//! versioned pledges, sessions, rosters (invitations and confirmations), agenda items,
//! information requests and their answers, and follow-up assignments — the stored facts the
//! meeting bases are checked against.
//!
//! Every function here that changes one of these facts takes the [`Logged`] of the log entry
//! that describes the change ("logged before it takes effect"); the services in
//! [`crate::services::meetings`] write the entry first.

use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::audit::Logged;
use crate::domain::{
    AgencyId, AgendaItemId, BodyId, BodyKind, Category, HouseholdId, InfoRequestId, SessionId, SubjectId, UserId,
};

pub use crate::domain::meeting::{AgendaItem, Body, FollowUp, InfoAnswer, InfoRequest, RosterEntry, Session};

/// How one person (user at agency) stands towards a body, across its sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Participation {
    /// On some session's roster, not removed (invited or confirmed).
    pub invited: bool,
    /// Confirmed on some session's roster, not removed.
    pub confirmed: bool,
    /// Named as the recipient of an information request in one of its sessions.
    pub request_recipient: bool,
}

type SessionRow = (String, String, i64, Option<i64>, Option<String>);
type AgendaRow = (String, Option<String>, Option<String>, Option<i64>);
type RosterRow = (String, String, String, i64, Option<i64>, Option<i64>, i64);
type RequestRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
);

const SELECT_REQUEST: &str = "SELECT id, session_id, asked_agency, subject_id, recipient_user, recipient_agency, answer, \
     answer_categories, answer_reason, answered_by_user, answered_at_ms, created_at_ms FROM info_requests";

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid stored {what}"))
}

fn opt_ms(v: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    v.map(from_ms).transpose()
}

type BodyRow = (String, String, Option<String>, String, String, String, String, i64, i64);

const SELECT_BODY: &str = "SELECT b.id, b.kind, b.conference_type, b.name, b.legal_basis, b.rules_text, \
     b.secretariat_agency, b.window_days, \
     (SELECT COALESCE(MAX(version), 0) FROM pledge_texts p WHERE p.body_id = b.id) FROM bodies b";

fn body_from_row(r: BodyRow) -> Result<Body, StoreError> {
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
}

fn session_from_row(r: SessionRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId::parse(&r.0).map_err(|_| bad("session id"))?,
        body_id: BodyId::parse(&r.1).map_err(|_| bad("body id"))?,
        held_at: from_ms(r.2)?,
        agenda_published_at: opt_ms(r.3)?,
        decision_summary: r.4,
    })
}

fn request_from_row(r: RequestRow) -> Result<InfoRequest, StoreError> {
    let status = match r.6.as_deref() {
        None => "open",
        Some("provided") => "provided",
        Some("declined") => "declined",
        Some(_) => return Err(bad("answer")),
    };
    let provided_categories = match r.7.as_deref() {
        None | Some("") => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|c| Category::parse(c).map_err(|_| bad("category")))
            .collect::<Result<_, _>>()?,
    };
    Ok(InfoRequest {
        id: InfoRequestId::parse(&r.0).map_err(|_| bad("request id"))?,
        session_id: SessionId::parse(&r.1).map_err(|_| bad("session id"))?,
        asked_agency: AgencyId::parse(&r.2).map_err(|_| bad("agency"))?,
        subject_id: SubjectId::parse(&r.3).map_err(|_| bad("subject id"))?,
        recipient_user: r.4,
        recipient_agency: AgencyId::parse(&r.5).map_err(|_| bad("agency"))?,
        status,
        provided_categories,
        decline_reason: r.8,
        answered_by: r.9,
        answered_at: opt_ms(r.10)?,
        created_at: from_ms(r.11)?,
    })
}

/// A new body as the convener describes it.
#[derive(Debug, Clone)]
pub struct NewBody {
    pub id: BodyId,
    pub kind: BodyKind,
    pub conference_type: Option<String>,
    pub name: String,
    pub legal_basis: String,
    pub rules_text: String,
    pub secretariat_agency: AgencyId,
    pub window_days: i64,
    pub pledge_text: String,
}

/// A new information request (Art. 106-6(3)).
#[derive(Debug, Clone)]
pub struct NewInfoRequest {
    pub id: InfoRequestId,
    pub session: SessionId,
    pub asked: AgencyId,
    pub subject: SubjectId,
    pub recipient_user: UserId,
    pub recipient_agency: AgencyId,
}

/// A new follow-up assignment.
#[derive(Debug, Clone)]
pub struct NewFollowUp {
    pub session: SessionId,
    pub subject: SubjectId,
    pub user: UserId,
    pub agency: AgencyId,
    pub until: OffsetDateTime,
}

impl Store {
    pub async fn create_body(
        &self,
        _logged: &Logged,
        b: &NewBody,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO bodies (id, kind, conference_type, name, legal_basis, rules_text, secretariat_agency, window_days, \
             created_by_user, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(b.id.to_string())
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
            .bind(b.id.to_string())
            .bind(b.pledge_text.clone())
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn body(&self, id: BodyId) -> Result<Option<Body>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT_BODY} WHERE b.id = $1"));
        let row: Option<BodyRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(body_from_row).transpose()
    }

    /// The bodies `agency` runs as secretariat, by name (at most 500).
    pub async fn bodies_of_secretariat(&self, agency: &AgencyId) -> Result<Vec<Body>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_BODY} WHERE b.secretariat_agency = $1 ORDER BY b.name, b.id LIMIT 500"
        ));
        let rows: Vec<BodyRow> = sqlx::query_as(sql)
            .bind(agency.as_str().to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(body_from_row).collect()
    }

    /// Every version of the body's pledge text, newest first: (version, text, published at).
    pub async fn pledge_texts(&self, body: BodyId) -> Result<Vec<(i64, String, OffsetDateTime)>, StoreError> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT version, text, created_at_ms FROM pledge_texts WHERE body_id = $1 ORDER BY version DESC",
        )
        .bind(body.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(|(v, t, at)| Ok((v, t, from_ms(at)?))).collect()
    }

    /// The body's sessions, latest first (at most 500).
    pub async fn sessions_of_body(&self, body: BodyId) -> Result<Vec<Session>, StoreError> {
        let rows: Vec<SessionRow> = sqlx::query_as(
            "SELECT id, body_id, held_at_ms, agenda_published_at_ms, decision_summary FROM sessions WHERE body_id = $1 \
             ORDER BY held_at_ms DESC, id LIMIT 500",
        )
        .bind(body.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(session_from_row).collect()
    }

    /// The sessions on whose roster `user` at `agency` has a row (invited, confirmed or
    /// removed), latest first (at most 200).
    pub async fn sessions_of_person(&self, user: &UserId, agency: &AgencyId) -> Result<Vec<SessionId>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT s.id FROM roster r JOIN sessions s ON s.id = r.session_id WHERE r.user_id = $1 AND r.agency_id = $2 \
             ORDER BY s.held_at_ms DESC, s.id LIMIT 200",
        )
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(id,)| SessionId::parse(&id).map_err(|_| bad("session id")))
            .collect()
    }

    /// The text of the body's current pledge version (version 0 and no text if none).
    pub async fn current_pledge(&self, body: BodyId) -> Result<Option<(i64, String)>, StoreError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT version, text FROM pledge_texts WHERE body_id = $1 ORDER BY version DESC LIMIT 1")
                .bind(body.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row)
    }

    /// Publishes version `version` of the body's pledge text (the caller read the current
    /// version and logged the new one); earlier acceptances stop counting. A concurrent
    /// publication of the same version is a conflict.
    pub async fn add_pledge_text(
        &self,
        _logged: &Logged,
        body: BodyId,
        version: i64,
        text: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "INSERT INTO pledge_texts (body_id, version, text, created_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(body.to_string())
        .bind(version)
        .bind(text.to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("pledge_version_conflict"));
        }
        Ok(())
    }

    /// Records that `user` at `agency` accepted version `version` of the body's pledge.
    pub async fn accept_pledge(
        &self,
        _logged: &Logged,
        body: BodyId,
        user: &UserId,
        agency: &AgencyId,
        version: i64,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pledges (body_id, user_id, agency_id, version, accepted_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(body.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(version)
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Whether `user` at `agency` accepted the body's current pledge version.
    pub async fn has_current_pledge(&self, body: BodyId, user: &UserId, agency: &AgencyId) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT p.version FROM pledges p WHERE p.body_id = $1 AND p.user_id = $2 AND p.agency_id = $3 \
             AND p.version = (SELECT MAX(version) FROM pledge_texts t WHERE t.body_id = $1)",
        )
        .bind(body.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.is_some())
    }

    /// How `user` at `agency` stands towards the body at `now` (for who may read it and who
    /// may accept its pledge).
    pub async fn participation(
        &self,
        body: BodyId,
        user: &UserId,
        agency: &AgencyId,
        now: OffsetDateTime,
    ) -> Result<Participation, StoreError> {
        let (invited, confirmed, named): (i64, i64, i64) = sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM roster r JOIN sessions s ON s.id = r.session_id WHERE s.body_id = $1 \
               AND r.user_id = $2 AND r.agency_id = $3 AND (r.removed_at_ms IS NULL OR r.removed_at_ms > $4)), \
             (SELECT COUNT(*) FROM roster r JOIN sessions s ON s.id = r.session_id WHERE s.body_id = $1 \
               AND r.user_id = $2 AND r.agency_id = $3 AND (r.removed_at_ms IS NULL OR r.removed_at_ms > $4) \
               AND r.confirmed_at_ms IS NOT NULL), \
             (SELECT COUNT(*) FROM info_requests i JOIN sessions s ON s.id = i.session_id WHERE s.body_id = $1 \
               AND i.recipient_user = $2 AND i.recipient_agency = $3)",
        )
        .bind(body.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(to_ms(now))
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(Participation {
            invited: invited > 0,
            confirmed: confirmed > 0,
            request_recipient: named > 0,
        })
    }

    /// Sessions with `subject` on their agenda whose roster has `user` at `agency` as a
    /// confirmed, not removed member at `now`, newest first: (session id, body kind, held at).
    pub async fn sessions_of_member_about(
        &self,
        user: &UserId,
        agency: &AgencyId,
        subject: SubjectId,
        now: OffsetDateTime,
    ) -> Result<Vec<(SessionId, BodyKind, OffsetDateTime)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT DISTINCT s.id, b.kind, s.held_at_ms FROM roster r \
             JOIN sessions s ON s.id = r.session_id JOIN bodies b ON b.id = s.body_id \
             JOIN agenda_items a ON a.session_id = s.id \
             WHERE r.user_id = $1 AND r.agency_id = $2 AND r.confirmed_at_ms IS NOT NULL \
             AND (r.removed_at_ms IS NULL OR r.removed_at_ms > $3) \
             AND a.subject_id = $4 AND a.removed_at_ms IS NULL ORDER BY s.held_at_ms DESC",
        )
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(to_ms(now))
        .bind(subject.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(id, kind, held)| {
                let kind = match kind.as_str() {
                    "statutory-conference" => BodyKind::StatutoryConference,
                    _ => BodyKind::SupportMeeting,
                };
                Ok((
                    SessionId::parse(&id).map_err(|_| bad("session id"))?,
                    kind,
                    from_ms(held)?,
                ))
            })
            .collect()
    }

    pub async fn create_session(
        &self,
        _logged: &Logged,
        id: SessionId,
        body: BodyId,
        held_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (id, body_id, held_at_ms, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(body.to_string())
            .bind(to_ms(held_at))
            .bind(to_ms(now))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT id, body_id, held_at_ms, agenda_published_at_ms, decision_summary FROM sessions WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(session_from_row).transpose()
    }

    pub async fn publish_agenda(
        &self,
        _logged: &Logged,
        session: SessionId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET agenda_published_at_ms = $1 WHERE id = $2 AND agenda_published_at_ms IS NULL")
            .bind(to_ms(now))
            .bind(session.to_string())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn set_decision_summary(
        &self,
        _logged: &Logged,
        session: SessionId,
        text: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET decision_summary = $1 WHERE id = $2")
            .bind(text.to_owned())
            .bind(session.to_string())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Invites a member or attendee to a session (again, if they had left): an unconfirmed row
    /// until they confirm it themselves.
    pub async fn invite(
        &self,
        _logged: &Logged,
        session: SessionId,
        (user, agency): (&UserId, &AgencyId),
        attendance: &str,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM roster WHERE session_id = $1 AND user_id = $2 AND agency_id = $3")
            .bind(session.to_string())
            .bind(user.as_str().to_owned())
            .bind(agency.as_str().to_owned())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO roster (session_id, user_id, agency_id, attendance, added_at_ms, invited_by_user) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(attendance.to_owned())
        .bind(to_ms(now))
        .bind(by.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The invited person confirms their own invitation.
    pub async fn confirm_invitation(
        &self,
        _logged: &Logged,
        session: SessionId,
        user: &UserId,
        agency: &AgencyId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE roster SET confirmed_at_ms = $1 WHERE session_id = $2 AND user_id = $3 AND agency_id = $4 \
             AND removed_at_ms IS NULL AND confirmed_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(session.to_string())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("invitation_not_open"));
        }
        Ok(())
    }

    /// Whether `user` (at any agency) is on a roster of the body and not removed.
    pub async fn on_body_roster(&self, body: BodyId, user: &UserId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM roster r JOIN sessions s ON s.id = r.session_id WHERE s.body_id = $1 \
             AND r.user_id = $2 AND (r.removed_at_ms IS NULL OR r.removed_at_ms > $3)",
        )
        .bind(body.to_string())
        .bind(user.as_str().to_owned())
        .bind(to_ms(now))
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(n > 0)
    }

    /// A member leaves the body: access ends at once in every session; the rows stay, marked.
    pub async fn remove_member(
        &self,
        _logged: &Logged,
        body: BodyId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
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

    /// The session's roster at `now`, with each row's confirmation and pledge state.
    pub async fn roster(&self, session: SessionId, now: OffsetDateTime) -> Result<Vec<RosterEntry>, StoreError> {
        let rows: Vec<RosterRow> = sqlx::query_as(
            "SELECT r.user_id, r.agency_id, r.attendance, r.added_at_ms, r.confirmed_at_ms, r.removed_at_ms, \
             (SELECT COUNT(*) FROM pledges p WHERE p.body_id = s.body_id AND p.user_id = r.user_id \
               AND p.agency_id = r.agency_id \
               AND p.version = (SELECT MAX(version) FROM pledge_texts t WHERE t.body_id = s.body_id)) \
             FROM roster r JOIN sessions s ON s.id = r.session_id WHERE r.session_id = $1 \
             ORDER BY r.added_at_ms, r.user_id, r.agency_id",
        )
        .bind(session.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                let confirmed_at = opt_ms(r.4)?;
                let removed_at = opt_ms(r.5)?;
                let live = removed_at.is_none_or(|t| t > now);
                let pledge_current = r.6 > 0;
                Ok(RosterEntry {
                    user_id: r.0,
                    agency_id: r.1,
                    attendance: r.2,
                    status: match (live, confirmed_at.is_some()) {
                        (false, _) => "removed",
                        (true, true) => "confirmed",
                        (true, false) => "invited",
                    },
                    added_at: from_ms(r.3)?,
                    confirmed_at,
                    pledge_current,
                    member: live && confirmed_at.is_some() && pledge_current,
                    removed_at,
                })
            })
            .collect()
    }

    pub async fn add_agenda_item(
        &self,
        _logged: &Logged,
        id: AgendaItemId,
        session: SessionId,
        subject: Option<SubjectId>,
        household: Option<HouseholdId>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO agenda_items (id, session_id, subject_id, household_id, added_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(session.to_string())
            .bind(subject.map(|s| s.to_string()))
            .bind(household.map(|h| h.to_string()))
            .bind(to_ms(now))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn remove_agenda_item(
        &self,
        _logged: &Logged,
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

    pub async fn create_info_request(
        &self,
        _logged: &Logged,
        r: &NewInfoRequest,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO info_requests (id, session_id, asked_agency, subject_id, recipient_user, recipient_agency, created_by_user, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(r.id.to_string())
        .bind(r.session.to_string())
        .bind(r.asked.as_str().to_owned())
        .bind(r.subject.to_string())
        .bind(r.recipient_user.as_str().to_owned())
        .bind(r.recipient_agency.as_str().to_owned())
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn info_request(&self, id: InfoRequestId) -> Result<Option<InfoRequest>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT_REQUEST} WHERE id = $1"));
        let row: Option<RequestRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(request_from_row).transpose()
    }

    pub async fn info_requests(&self, session: SessionId) -> Result<Vec<InfoRequest>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_REQUEST} WHERE session_id = $1 ORDER BY created_at_ms, id"
        ));
        let rows: Vec<RequestRow> = sqlx::query_as(sql)
            .bind(session.to_string())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(request_from_row).collect()
    }

    /// Requests addressed to `agency`, newest first (at most 500).
    pub async fn info_requests_to(&self, agency: &AgencyId) -> Result<Vec<InfoRequest>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_REQUEST} WHERE asked_agency = $1 ORDER BY created_at_ms DESC, id LIMIT 500"
        ));
        let rows: Vec<RequestRow> = sqlx::query_as(sql)
            .bind(agency.as_str().to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(request_from_row).collect()
    }

    /// Requests naming `user` at `agency` as the recipient of the answer, newest first (at most 200).
    pub async fn info_requests_for_recipient(
        &self,
        user: &UserId,
        agency: &AgencyId,
    ) -> Result<Vec<InfoRequest>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_REQUEST} WHERE recipient_user = $1 AND recipient_agency = $2 ORDER BY created_at_ms DESC, id LIMIT 200"
        ));
        let rows: Vec<RequestRow> = sqlx::query_as(sql)
            .bind(user.as_str().to_owned())
            .bind(agency.as_str().to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(request_from_row).collect()
    }

    /// The asked agency's answer (provided categories, or declined with a reason); a request is
    /// answered once.
    pub async fn answer_info_request(
        &self,
        _logged: &Logged,
        id: InfoRequestId,
        (answer, categories, reason): (InfoAnswer, &[Category], Option<&str>),
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let list = categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",");
        let done = sqlx::query(
            "UPDATE info_requests SET answer = $1, answer_categories = $2, answer_reason = $3, answered_by_user = $4, \
             answered_at_ms = $5 WHERE id = $6 AND answer IS NULL",
        )
        .bind(answer.as_str())
        .bind(list)
        .bind(reason.map(str::to_owned))
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .bind(id.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("info_request_already_answered"));
        }
        Ok(())
    }

    pub async fn add_followup(
        &self,
        _logged: &Logged,
        f: &NewFollowUp,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO followups (id, session_id, subject_id, user_id, agency_id, until_ms, created_by_user, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(f.session.to_string())
        .bind(f.subject.to_string())
        .bind(f.user.as_str().to_owned())
        .bind(f.agency.as_str().to_owned())
        .bind(to_ms(f.until))
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
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT idx, entry FROM audit_entries WHERE basis_ref = $1 AND kind = 'disclosure' ORDER BY idx",
        )
        .bind(reference.to_owned())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(i, e)| Ok((u64::try_from(i).map_err(|_| bad("index"))?, e)))
            .collect()
    }
}
