//! Stored facts for the other lawful bases: abuse reports, emergency (break-glass) grants and
//! their reviews, case assignments for internal use, provenance approvals, and notifications.

use serde::Serialize;
use time::OffsetDateTime;

use super::{NewRecord, Store, StoreError, from_ms, to_ms};
use crate::domain::{AgencyId, GrantId, RecordId, ReportId, SubjectId, UserId};

#[derive(Debug, Clone, Serialize)]
pub struct LegalReport {
    pub id: ReportId,
    pub report_type: String,
    pub subject_id: SubjectId,
    pub reporter_agency: AgencyId,
    pub receiving_agency: AgencyId,
    pub record_id: RecordId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmergencyGrant {
    pub id: GrantId,
    pub subject_id: SubjectId,
    pub owner_agency: AgencyId,
    pub user_id: String,
    pub agency_id: AgencyId,
    /// The stated risk and why consent is impracticable (opened for privacy officers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reviewed_at: Option<OffsetDateTime>,
    pub reviewed_by: Option<String>,
    pub review_outcome: Option<String>,
    pub review_note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub reference: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn bad(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid stored {what}"))
}

type GrantRow = (
    String,
    String,
    String,
    String,
    String,
    Vec<u8>,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const SELECT_GRANT: &str = "SELECT id, subject_id, owner_agency, user_id, agency_id, sealed_grounds, created_at_ms, expires_at_ms, \
     reviewed_at_ms, reviewed_by, review_outcome, review_note FROM emergency_grants";

fn grounds_aad(id: GrantId) -> String {
    format!("tsunagi:emergency-grounds:{id}")
}

impl Store {
    /// Stores an abuse report: its content becomes a record owned by the receiving agency, with
    /// the reporter's identity in a sealed `reporter-identity` section. The receiving agency is
    /// linked to the subject. Returns (report id, record id).
    pub async fn create_legal_report(
        &self,
        report_type: &str,
        record: NewRecord,
        reporter_agency: &AgencyId,
        now: OffsetDateTime,
    ) -> Result<(ReportId, RecordId), StoreError> {
        let id = ReportId::new_random();
        let subject = record.subject;
        let receiving = record.owner.clone();
        let reporter_user = record.created_by.clone();
        if !self.is_linked(&receiving, subject).await? {
            self.link_local_id(&receiving, &format!("report-{id}"), subject).await?;
        }
        let (record_id, _) = self.create_record(record, now).await?;
        sqlx::query(
            "INSERT INTO legal_reports (id, report_type, subject_id, reporter_agency, reporter_user, receiving_agency, record_id, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(report_type.to_owned())
        .bind(subject.to_string())
        .bind(reporter_agency.as_str().to_owned())
        .bind(reporter_user.as_str().to_owned())
        .bind(receiving.as_str().to_owned())
        .bind(record_id.to_string())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok((id, record_id))
    }

    pub async fn legal_report(&self, id: ReportId) -> Result<Option<LegalReport>, StoreError> {
        let row: Option<(String, String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, report_type, subject_id, reporter_agency, receiving_agency, record_id, created_at_ms FROM legal_reports WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        row.map(|r| {
            Ok(LegalReport {
                id: ReportId::parse(&r.0).map_err(|_| bad("report id"))?,
                report_type: r.1,
                subject_id: SubjectId::parse(&r.2).map_err(|_| bad("subject id"))?,
                reporter_agency: AgencyId::parse(&r.3).map_err(|_| bad("agency"))?,
                receiving_agency: AgencyId::parse(&r.4).map_err(|_| bad("agency"))?,
                record_id: RecordId::parse(&r.5).map_err(|_| bad("record id"))?,
                created_at: from_ms(r.6)?,
            })
        })
        .transpose()
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one column per argument: a row struct would only rename them"
    )]
    pub async fn create_emergency_grant(
        &self,
        subject: SubjectId,
        owner: &AgencyId,
        user: &UserId,
        agency: &AgencyId,
        grounds: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<GrantId, StoreError> {
        let id = GrantId::new_random();
        let key = self.data_key(subject).await?;
        let sealed = key.seal(grounds_aad(id).as_bytes(), grounds.as_bytes())?;
        sqlx::query(
            "INSERT INTO emergency_grants (id, subject_id, owner_agency, user_id, agency_id, sealed_grounds, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(subject.to_string())
        .bind(owner.as_str().to_owned())
        .bind(user.as_str().to_owned())
        .bind(agency.as_str().to_owned())
        .bind(sealed)
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(id)
    }

    /// A grant; `open_grounds` decrypts the stated grounds (for privacy officers).
    pub async fn emergency_grant(&self, id: GrantId, open_grounds: bool) -> Result<Option<EmergencyGrant>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT_GRANT} WHERE id = $1"));
        let row: Option<GrantRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        match row {
            Some(r) => Ok(Some(self.grant_from_row(r, open_grounds).await?)),
            None => Ok(None),
        }
    }

    /// Grants not yet reviewed by a privacy officer, oldest first.
    pub async fn unreviewed_grants(&self) -> Result<Vec<EmergencyGrant>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_GRANT} WHERE reviewed_at_ms IS NULL ORDER BY created_at_ms"
        ));
        let rows: Vec<GrantRow> = sqlx::query_as(sql).fetch_all(&mut *self.conn().await?).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.grant_from_row(r, true).await?);
        }
        Ok(out)
    }

    pub async fn review_grant(
        &self,
        id: GrantId,
        by: &UserId,
        outcome: &str,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE emergency_grants SET reviewed_at_ms = $1, reviewed_by = $2, review_outcome = $3, review_note = $4 \
             WHERE id = $5 AND reviewed_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(by.as_str().to_owned())
        .bind(outcome.to_owned())
        .bind(note.to_owned())
        .bind(id.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return match self.emergency_grant(id, false).await? {
                Some(_) => Err(StoreError::Conflict("grant_already_reviewed")),
                None => Err(StoreError::NotFound("grant")),
            };
        }
        Ok(())
    }

    async fn grant_from_row(&self, r: GrantRow, open_grounds: bool) -> Result<EmergencyGrant, StoreError> {
        let id = GrantId::parse(&r.0).map_err(|_| bad("grant id"))?;
        let subject = SubjectId::parse(&r.1).map_err(|_| bad("subject id"))?;
        let grounds = if open_grounds {
            let key = self.data_key(subject).await?;
            let plain = key.open(grounds_aad(id).as_bytes(), &r.5)?;
            Some(String::from_utf8(plain).map_err(|_| bad("grounds"))?)
        } else {
            None
        };
        Ok(EmergencyGrant {
            id,
            subject_id: subject,
            owner_agency: AgencyId::parse(&r.2).map_err(|_| bad("agency"))?,
            user_id: r.3,
            agency_id: AgencyId::parse(&r.4).map_err(|_| bad("agency"))?,
            grounds,
            created_at: from_ms(r.6)?,
            expires_at: from_ms(r.7)?,
            reviewed_at: r.8.map(from_ms).transpose()?,
            reviewed_by: r.9,
            review_outcome: r.10,
            review_note: r.11,
        })
    }

    pub async fn assign_case(
        &self,
        subject: SubjectId,
        agency: &AgencyId,
        user: &UserId,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if self.is_assigned(subject, agency, user).await? {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO case_assignments (subject_id, agency_id, user_id, assigned_by, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(subject.to_string())
        .bind(agency.as_str().to_owned())
        .bind(user.as_str().to_owned())
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn is_assigned(&self, subject: SubjectId, agency: &AgencyId, user: &UserId) -> Result<bool, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT user_id FROM case_assignments WHERE subject_id = $1 AND agency_id = $2 AND user_id = $3",
        )
        .bind(subject.to_string())
        .bind(agency.as_str().to_owned())
        .bind(user.as_str().to_owned())
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.is_some())
    }

    /// The body's coordinator lets a record that came from it travel under `basis`.
    pub async fn approve_origin(
        &self,
        record: RecordId,
        basis: &str,
        by: &UserId,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM origin_approvals WHERE record_id = $1 AND basis = $2")
            .bind(record.to_string())
            .bind(basis.to_owned())
            .execute(&mut *self.conn().await?)
            .await?;
        sqlx::query(
            "INSERT INTO origin_approvals (record_id, basis, approved_by_user, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(record.to_string())
        .bind(basis.to_owned())
        .bind(by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn origin_approved(&self, record: RecordId, basis: &str) -> Result<bool, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT basis FROM origin_approvals WHERE record_id = $1 AND basis = $2")
                .bind(record.to_string())
                .bind(basis.to_owned())
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row.is_some())
    }

    /// The session a record came from and the agency that owns the record.
    pub async fn record_origin(&self, record: RecordId) -> Result<Option<(AgencyId, Option<String>)>, StoreError> {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT owner_agency, origin_session FROM records WHERE id = $1")
                .bind(record.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        row.map(|(a, s)| Ok((AgencyId::parse(&a).map_err(|_| bad("agency"))?, s)))
            .transpose()
    }

    pub async fn notify(
        &self,
        agency: &AgencyId,
        kind: &str,
        reference: &str,
        message: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO notifications (id, agency_id, kind, reference, message, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(agency.as_str().to_owned())
            .bind(kind.to_owned())
            .bind(reference.to_owned())
            .bind(message.to_owned())
            .bind(to_ms(now))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn notifications(&self, agency: &AgencyId) -> Result<Vec<Notification>, StoreError> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, kind, reference, message, created_at_ms FROM notifications WHERE agency_id = $1 ORDER BY created_at_ms DESC LIMIT 500",
        )
        .bind(agency.as_str().to_owned())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Notification {
                    id: r.0,
                    kind: r.1,
                    reference: r.2,
                    message: r.3,
                    created_at: from_ms(r.4)?,
                })
            })
            .collect()
    }

    /// Agencies that received data under a basis reference (e.g. a consent id).
    pub async fn recipients_under(&self, reference: &str) -> Result<Vec<AgencyId>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT requester_agency FROM audit_entries WHERE basis_ref = $1 AND decision = 'allowed' \
             AND kind = 'disclosure' AND requester_agency IS NOT NULL",
        )
        .bind(reference.to_owned())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(a,)| AgencyId::parse(&a).map_err(|_| bad("agency")))
            .collect()
    }
}
