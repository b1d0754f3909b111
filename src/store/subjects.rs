//! Organs, agencies, households, subjects and each agency's local id for a subject.

use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::domain::{AgencyId, HouseholdId, OrganId, SubjectId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrganKind {
    /// A local government organ (APPI Art. 69 rules).
    Public,
    /// A private business, e.g. a contracted corporation or the 社協 (APPI Art. 27 rules).
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Agency {
    pub id: AgencyId,
    pub name: String,
    pub organ: OrganId,
    pub organ_kind: OrganKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRow {
    pub id: SubjectId,
    pub household: Option<HouseholdId>,
    pub created_by_agency: AgencyId,
    pub created_at: OffsetDateTime,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid stored {what}"))
}

impl Store {
    pub async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT a.id, a.name, a.organ_id, o.kind FROM agencies a JOIN organs o ON o.id = a.organ_id ORDER BY a.id",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(id, name, organ, kind)| {
                Ok(Agency {
                    id: AgencyId::parse(&id).map_err(|_| corrupt("agency id"))?,
                    name,
                    organ: OrganId::parse(&organ).map_err(|_| corrupt("organ id"))?,
                    organ_kind: match kind.as_str() {
                        "public" => OrganKind::Public,
                        "private" => OrganKind::Private,
                        _ => return Err(corrupt("organ kind")),
                    },
                })
            })
            .collect()
    }

    pub async fn create_household(&self, agency: &AgencyId, now: OffsetDateTime) -> Result<HouseholdId, StoreError> {
        let id = HouseholdId::new_random();
        sqlx::query("INSERT INTO households (id, created_by_agency, created_at_ms) VALUES ($1, $2, $3)")
            .bind(id.to_string())
            .bind(agency.as_str().to_owned())
            .bind(to_ms(now))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(id)
    }

    pub async fn household_exists(&self, id: HouseholdId) -> Result<bool, StoreError> {
        let row: Option<(String,)> = sqlx::query_as("SELECT id FROM households WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.is_some())
    }

    /// Registers a subject known to `agency` as `local_id`, with a fresh data key. Refuses a
    /// local id the agency has already linked.
    pub async fn create_subject(
        &self,
        agency: &AgencyId,
        local_id: &str,
        household: Option<HouseholdId>,
        now: OffsetDateTime,
    ) -> Result<SubjectId, StoreError> {
        let id = SubjectId::new_random();
        let (_key, wrapped) = self.new_data_key(id)?;
        let mut tx = self.pool().begin().await?;
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT subject_id FROM subject_links WHERE agency_id = $1 AND local_id = $2")
                .bind(agency.as_str().to_owned())
                .bind(local_id.to_owned())
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict("local_id_taken"));
        }
        sqlx::query(
            "INSERT INTO subjects (id, household_id, created_by_agency, created_at_ms, wrapped_key, kek_id) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(household.map(|h| h.to_string()))
        .bind(agency.as_str().to_owned())
        .bind(to_ms(now))
        .bind(wrapped.bytes)
        .bind(wrapped.kek_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO subject_links (agency_id, local_id, subject_id) VALUES ($1, $2, $3)")
            .bind(agency.as_str().to_owned())
            .bind(local_id.to_owned())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn subject(&self, id: SubjectId) -> Result<Option<SubjectRow>, StoreError> {
        let row: Option<(String, Option<String>, String, i64)> =
            sqlx::query_as("SELECT id, household_id, created_by_agency, created_at_ms FROM subjects WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        row.map(|(sid, hh, agency, at)| subject_row(&sid, hh, &agency, at))
            .transpose()
    }

    /// The subject `agency` knows as `local_id`, if linked.
    pub async fn subject_by_local_id(
        &self,
        agency: &AgencyId,
        local_id: &str,
    ) -> Result<Option<SubjectId>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT subject_id FROM subject_links WHERE agency_id = $1 AND local_id = $2")
                .bind(agency.as_str().to_owned())
                .bind(local_id.to_owned())
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        row.map(|(s,)| SubjectId::parse(&s).map_err(|_| corrupt("subject id")))
            .transpose()
    }

    /// Links an existing subject to `agency`'s local id.
    pub async fn link_local_id(&self, agency: &AgencyId, local_id: &str, subject: SubjectId) -> Result<(), StoreError> {
        if self.subject_by_local_id(agency, local_id).await?.is_some() {
            return Err(StoreError::Conflict("local_id_taken"));
        }
        sqlx::query("INSERT INTO subject_links (agency_id, local_id, subject_id) VALUES ($1, $2, $3)")
            .bind(agency.as_str().to_owned())
            .bind(local_id.to_owned())
            .bind(subject.to_string())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }
}

impl Store {
    /// The local ids under which `agency` knows `subject` (none when not linked).
    /// Every agency's local ids (case numbers) for `subject`: (agency, local id), by agency.
    pub async fn links_of(&self, subject: SubjectId) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT agency_id, local_id FROM subject_links WHERE subject_id = $1 ORDER BY agency_id, local_id",
        )
        .bind(subject.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?)
    }

    pub async fn local_ids_of(&self, agency: &AgencyId, subject: SubjectId) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT local_id FROM subject_links WHERE agency_id = $1 AND subject_id = $2 ORDER BY local_id",
        )
        .bind(agency.as_str().to_owned())
        .bind(subject.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(|(l,)| l).collect())
    }
}

impl Store {
    /// Whether `agency` has linked `subject` (knows them under a local id).
    pub async fn is_linked(&self, agency: &AgencyId, subject: SubjectId) -> Result<bool, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT local_id FROM subject_links WHERE agency_id = $1 AND subject_id = $2 LIMIT 1")
                .bind(agency.as_str().to_owned())
                .bind(subject.to_string())
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row.is_some())
    }
}

pub(super) fn subject_row(
    id: &str,
    household: Option<String>,
    agency: &str,
    at_ms: i64,
) -> Result<SubjectRow, StoreError> {
    Ok(SubjectRow {
        id: SubjectId::parse(id).map_err(|_| corrupt("subject id"))?,
        household: household
            .map(|h| HouseholdId::parse(&h).map_err(|_| corrupt("household id")))
            .transpose()?,
        created_by_agency: AgencyId::parse(agency).map_err(|_| corrupt("agency id"))?,
        created_at: from_ms(at_ms)?,
    })
}
