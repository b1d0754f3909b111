//! Consents: record, read, list and revoke. The names of representatives and witnesses and the
//! evidence reference are personal data of their own, so they are sealed with the subject's
//! data key; the scope (recipients, purposes, categories, period) stays in clear for checking.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::domain::{
    AgencyId, Category, Consent, ConsentId, ConsentMethod, ConsentScope, GivenBy, NewConsent, Purpose, SubjectId,
    UserId,
};

#[derive(Serialize, Deserialize)]
struct SealedDetails {
    representative_name: Option<String>,
    witness_name: Option<String>,
    evidence_ref: String,
}

type ConsentRow = (
    String,         // id
    String,         // subject_id
    String,         // recorded_by_agency
    String,         // recorded_by_user
    String,         // given_by
    String,         // method
    String,         // recipients
    String,         // purposes
    String,         // categories
    i64,            // valid_from_ms
    i64,            // valid_until_ms
    Vec<u8>,        // sealed_details
    i64,            // recorded_at_ms
    Option<i64>,    // revoked_at_ms
    Option<String>, // revocation_reason
);

const SELECT_CONSENT: &str = "SELECT id, subject_id, recorded_by_agency, recorded_by_user, given_by, method, recipients, \
     purposes, categories, valid_from_ms, valid_until_ms, sealed_details, recorded_at_ms, revoked_at_ms, revocation_reason \
     FROM consents";

fn details_aad(id: ConsentId) -> String {
    format!("tsunagi:consent:{id}")
}

fn enum_text<T: Serialize>(v: &T) -> Result<String, StoreError> {
    match serde_json::to_value(v).map_err(|e| StoreError::Corrupt(e.to_string()))? {
        serde_json::Value::String(s) => Ok(s),
        _ => Err(StoreError::Corrupt("enum is not a string".into())),
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(what: &str, s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("invalid stored {what}")))
}

impl Store {
    pub async fn insert_consent(
        &self,
        c: &NewConsent,
        agency: &AgencyId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<Consent, StoreError> {
        let key = self.data_key(c.subject).await?;
        let id = ConsentId::new_random();
        let details = SealedDetails {
            representative_name: c.representative_name.clone(),
            witness_name: c.witness_name.clone(),
            evidence_ref: c.evidence_ref.as_str().to_owned(),
        };
        let sealed = key.seal(details_aad(id).as_bytes(), json(&details)?.as_bytes())?;
        sqlx::query(
            "INSERT INTO consents (id, subject_id, recorded_by_agency, recorded_by_user, given_by, method, recipients, \
             purposes, categories, valid_from_ms, valid_until_ms, sealed_details, recorded_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id.to_string())
        .bind(c.subject.to_string())
        .bind(agency.as_str().to_owned())
        .bind(user.as_str().to_owned())
        .bind(enum_text(&c.given_by)?)
        .bind(enum_text(&c.method)?)
        .bind(json(&c.recipients)?)
        .bind(json(&c.purposes)?)
        .bind(json(&c.categories)?)
        .bind(to_ms(c.valid_from))
        .bind(to_ms(c.valid_until))
        .bind(sealed)
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        self.consent(id).await?.ok_or(StoreError::NotFound("consent"))
    }

    /// The scope of a consent, for checking a disclosure: one query, nothing decrypted.
    pub async fn consent_scope(&self, id: ConsentId) -> Result<Option<ConsentScope>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT_CONSENT} WHERE id = $1"));
        let row: Option<ConsentRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(|r| scope_from_row(&r)).transpose()
    }

    pub async fn consent(&self, id: ConsentId) -> Result<Option<Consent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT_CONSENT} WHERE id = $1"));
        let row: Option<ConsentRow> = sqlx::query_as(sql)
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        match row {
            Some(row) => Ok(Some(self.consent_from_row(row).await?)),
            None => Ok(None),
        }
    }

    /// Consents about `subject` recorded by `agency`, newest first.
    pub async fn consents_for_subject(
        &self,
        subject: SubjectId,
        agency: &AgencyId,
    ) -> Result<Vec<Consent>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT_CONSENT} WHERE subject_id = $1 AND recorded_by_agency = $2 ORDER BY recorded_at_ms DESC, id"
        ));
        let rows: Vec<ConsentRow> = sqlx::query_as(sql)
            .bind(subject.to_string())
            .bind(agency.as_str().to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.consent_from_row(row).await?);
        }
        Ok(out)
    }

    /// Revokes a consent from `now` on. Revoking twice is a conflict; the first revocation
    /// stands.
    pub async fn revoke_consent(
        &self,
        id: ConsentId,
        user: &UserId,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Consent, StoreError> {
        let done = sqlx::query(
            "UPDATE consents SET revoked_at_ms = $1, revoked_by_user = $2, revocation_reason = $3 \
             WHERE id = $4 AND revoked_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(user.as_str().to_owned())
        .bind(reason.to_owned())
        .bind(id.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return match self.consent(id).await? {
                Some(_) => Err(StoreError::Conflict("consent_already_revoked")),
                None => Err(StoreError::NotFound("consent")),
            };
        }
        self.consent(id).await?.ok_or(StoreError::NotFound("consent"))
    }

    async fn consent_from_row(&self, r: ConsentRow) -> Result<Consent, StoreError> {
        let bad = |w: &str| StoreError::Corrupt(format!("invalid stored {w}"));
        let scope = scope_from_row(&r)?;
        let key = self.data_key(scope.subject).await?;
        let plain = key.open(details_aad(scope.id).as_bytes(), &r.11)?;
        let details: SealedDetails = serde_json::from_slice(&plain).map_err(|_| bad("consent details"))?;
        Ok(Consent {
            scope,
            recorded_by_user: UserId::parse(&r.3).map_err(|_| bad("user"))?,
            given_by: from_json::<GivenBy>("given_by", &format!("\"{}\"", r.4))?,
            method: from_json::<ConsentMethod>("method", &format!("\"{}\"", r.5))?,
            representative_name: details.representative_name,
            witness_name: details.witness_name,
            evidence_ref: details.evidence_ref,
            recorded_at: from_ms(r.12)?,
            revocation_reason: r.14.clone(),
        })
    }
}

fn scope_from_row(r: &ConsentRow) -> Result<ConsentScope, StoreError> {
    let bad = |w: &str| StoreError::Corrupt(format!("invalid stored {w}"));
    Ok(ConsentScope {
        id: ConsentId::parse(&r.0).map_err(|_| bad("consent id"))?,
        subject: SubjectId::parse(&r.1).map_err(|_| bad("subject id"))?,
        recorded_by_agency: AgencyId::parse(&r.2).map_err(|_| bad("agency"))?,
        recipients: from_json::<Vec<AgencyId>>("recipients", &r.6)?,
        purposes: from_json::<Vec<Purpose>>("purposes", &r.7)?,
        categories: from_json::<Vec<Category>>("categories", &r.8)?,
        valid_from: from_ms(r.9)?,
        valid_until: from_ms(r.10)?,
        revoked_at: r.13.map(from_ms).transpose()?,
    })
}
