//! Referrals (つなぎ, docs/rules.md#R-T1–R-T3): a person referred by one agency to another.
//! The note is sealed with the subject's data key when the referral is made and opened only
//! with a [`Release`] whose durable entry lists it (`referral-note:<id>`), like record sections.
//! Every change takes the [`Logged`] of its entry; a transition happens only from `pending`
//! (`Conflict("referral_not_pending")` otherwise), and accepting links the person under the
//! receiving agency's case number in the same transaction.

use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::audit::{Logged, Release};
use crate::domain::{AgencyId, Category, FreeText, ReferralId, ReferralState, SubjectId, UserId};

/// A sealed item that is not a record section (a referral's note): released only when the
/// disclosure entry lists its label. Made only by the store.
#[derive(Debug, Clone)]
pub struct SealedItem {
    label: String,
    subject: SubjectId,
    aad: String,
    ciphertext: Vec<u8>,
}

impl SealedItem {
    /// What the log entry calls it (`referral-note:<id>`).
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// A referral as stored (the note still sealed).
#[derive(Debug, Clone)]
pub struct Referral {
    pub id: ReferralId,
    pub subject: SubjectId,
    pub from_agency: AgencyId,
    pub from_user: String,
    pub to_agency: AgencyId,
    pub purpose: String,
    pub categories: Vec<Category>,
    /// `consent`, `support-meeting` or `statutory-conference`.
    pub basis_type: String,
    /// The consent or session id.
    pub basis_ref: String,
    pub state: ReferralState,
    pub created_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub answered_by: Option<String>,
    pub decline_reason: Option<String>,
    pub accepted_local_id: Option<String>,
    note: Option<Vec<u8>>,
}

impl Referral {
    pub fn has_note(&self) -> bool {
        self.note.is_some()
    }

    /// The sealed note, to hand to the disclosure road.
    pub fn note_item(&self) -> Option<SealedItem> {
        self.note.as_ref().map(|ct| SealedItem {
            label: note_label(self.id),
            subject: self.subject,
            aad: note_aad(self.subject, self.id),
            ciphertext: ct.clone(),
        })
    }
}

/// A referral as its maker gives it (validated).
#[derive(Debug, Clone)]
pub struct NewReferral {
    pub id: ReferralId,
    pub subject: SubjectId,
    pub from_agency: AgencyId,
    pub from_user: UserId,
    pub to_agency: AgencyId,
    pub purpose: String,
    pub categories: Vec<Category>,
    pub basis_type: &'static str,
    pub basis_ref: String,
    pub note: Option<FreeText>,
}

/// The label of a referral's note on log entries.
pub fn note_label(id: ReferralId) -> String {
    format!("referral-note:{id}")
}

fn note_aad(subject: SubjectId, id: ReferralId) -> String {
    format!("tsunagi:referral-note:{subject}:{id}")
}

type ReferralRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<Vec<u8>>,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLUMNS: &str = "SELECT id, subject_id, from_agency, from_user, to_agency, purpose, categories, basis_type, basis_ref, \
     note_ciphertext, state, created_at_ms, answered_at_ms, answered_by_user, decline_reason, accepted_local_id FROM referrals";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid stored referral {what}"))
}

fn parse_row(r: ReferralRow) -> Result<Referral, StoreError> {
    let categories = if r.6.is_empty() {
        Vec::new()
    } else {
        r.6.split(',')
            .map(|c| Category::parse(c).map_err(|_| corrupt("category")))
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(Referral {
        id: ReferralId::parse(&r.0).map_err(|_| corrupt("id"))?,
        subject: SubjectId::parse(&r.1).map_err(|_| corrupt("subject"))?,
        from_agency: AgencyId::parse(&r.2).map_err(|_| corrupt("agency"))?,
        from_user: r.3,
        to_agency: AgencyId::parse(&r.4).map_err(|_| corrupt("agency"))?,
        purpose: r.5,
        categories,
        basis_type: r.7,
        basis_ref: r.8,
        note: r.9,
        state: ReferralState::parse(&r.10).ok_or_else(|| corrupt("state"))?,
        created_at: from_ms(r.11)?,
        answered_at: r.12.map(from_ms).transpose()?,
        answered_by: r.13,
        decline_reason: r.14,
        accepted_local_id: r.15,
    })
}

impl Store {
    /// Stores a referral (`pending`), its note sealed, after its entry (`_logged`).
    pub async fn create_referral(
        &self,
        r: NewReferral,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        let note = match &r.note {
            Some(text) => {
                let key = self.data_key(r.subject).await?;
                Some(key.seal(note_aad(r.subject, r.id).as_bytes(), text.as_str().as_bytes())?)
            }
            None => None,
        };
        let categories = r.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",");
        sqlx::query(
            "INSERT INTO referrals (id, subject_id, from_agency, from_user, to_agency, purpose, categories, basis_type, \
             basis_ref, note_ciphertext, state, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)",
        )
        .bind(r.id.to_string())
        .bind(r.subject.to_string())
        .bind(r.from_agency.as_str().to_owned())
        .bind(r.from_user.as_str().to_owned())
        .bind(r.to_agency.as_str().to_owned())
        .bind(r.purpose)
        .bind(categories)
        .bind(r.basis_type)
        .bind(r.basis_ref)
        .bind(note)
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn referral(&self, id: ReferralId) -> Result<Option<Referral>, StoreError> {
        let row: Option<ReferralRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.map(parse_row).transpose()
    }

    /// Referrals to (`incoming`) or from `agency`, newest first (at most 500).
    pub async fn referrals_of(&self, agency: &AgencyId, incoming: bool) -> Result<Vec<Referral>, StoreError> {
        let sql = if incoming {
            format!("{COLUMNS} WHERE to_agency = $1 ORDER BY created_at_ms DESC, id LIMIT 500")
        } else {
            format!("{COLUMNS} WHERE from_agency = $1 ORDER BY created_at_ms DESC, id LIMIT 500")
        };
        let rows: Vec<ReferralRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(agency.as_str().to_owned())
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(parse_row).collect()
    }

    /// Referrals about `subject` that `agency` made or received, newest first.
    pub async fn referrals_about(&self, subject: SubjectId, agency: &AgencyId) -> Result<Vec<Referral>, StoreError> {
        let rows: Vec<ReferralRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE subject_id = $1 AND (from_agency = $2 OR to_agency = $2) ORDER BY created_at_ms DESC, id LIMIT 500"
        )))
        .bind(subject.to_string())
        .bind(agency.as_str().to_owned())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter().map(parse_row).collect()
    }

    /// Marks a pending referral accepted by `user`, after its entry; links the person under
    /// `link` (the receiving agency's case number) in the same transaction when given.
    pub async fn accept_referral(
        &self,
        r: &Referral,
        user: &UserId,
        link: Option<&str>,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE referrals SET state = 'accepted', answered_at_ms = $1, answered_by_user = $2, accepted_local_id = $3 \
             WHERE id = $4 AND state = 'pending'",
        )
        .bind(to_ms(now))
        .bind(user.as_str().to_owned())
        .bind(link.map(str::to_owned))
        .bind(r.id.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("referral_not_pending"));
        }
        if let Some(local_id) = link {
            let taken: Option<(String,)> =
                sqlx::query_as("SELECT subject_id FROM subject_links WHERE agency_id = $1 AND local_id = $2")
                    .bind(r.to_agency.as_str().to_owned())
                    .bind(local_id.to_owned())
                    .fetch_optional(&mut *tx)
                    .await?;
            if taken.is_some() {
                return Err(StoreError::Conflict("local_id_taken"));
            }
            sqlx::query("INSERT INTO subject_links (agency_id, local_id, subject_id) VALUES ($1, $2, $3)")
                .bind(r.to_agency.as_str().to_owned())
                .bind(local_id.to_owned())
                .bind(r.subject.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a pending referral declined (with `reason`) or withdrawn by `user`, after its entry.
    pub async fn close_referral(
        &self,
        id: ReferralId,
        to: ReferralState,
        user: &UserId,
        reason: Option<&str>,
        now: OffsetDateTime,
        _logged: &Logged,
    ) -> Result<(), StoreError> {
        if !matches!(to, ReferralState::Declined | ReferralState::Withdrawn) {
            return Err(StoreError::Conflict("referral_not_pending"));
        }
        let done = sqlx::query(
            "UPDATE referrals SET state = $1, answered_at_ms = $2, answered_by_user = $3, decline_reason = $4 \
             WHERE id = $5 AND state = 'pending'",
        )
        .bind(to.as_str())
        .bind(to_ms(now))
        .bind(user.as_str().to_owned())
        .bind(reason.map(str::to_owned))
        .bind(id.to_string())
        .execute(&mut *self.conn().await?)
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("referral_not_pending"));
        }
        Ok(())
    }

    /// Opens the items a durable disclosure entry released (those its `attached` lists), and
    /// nothing else: (label, text) in the order given.
    pub async fn open_attached(
        &self,
        release: &Release,
        items: &[SealedItem],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut out = Vec::new();
        for item in items {
            if !release.attached().iter().any(|l| l == &item.label) {
                continue;
            }
            if item.subject != release.subject() {
                return Err(StoreError::Corrupt("release does not match the sealed item".into()));
            }
            let key = self.data_key(item.subject).await?;
            let plain = key.open(item.aad.as_bytes(), &item.ciphertext)?;
            let text = String::from_utf8(plain).map_err(|_| StoreError::Corrupt("sealed item is not UTF-8".into()))?;
            out.push((item.label.clone(), text));
        }
        Ok(out)
    }
}
