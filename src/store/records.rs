//! Case records and their sections. Writing seals each section with the subject's data key;
//! reading content is possible only through [`Store::read_released`], which takes the
//! [`Release`] that the audit log hands out once a disclosure is durably on record.

use time::OffsetDateTime;

use super::{Store, StoreError, to_ms};
use crate::audit::Release;
use crate::domain::{AgencyId, Category, FreeText, Purpose, RecordId, SectionId, SubjectId, UserId};

#[derive(Debug, Clone)]
pub struct NewSection {
    pub category: Category,
    pub content: FreeText,
}

#[derive(Debug, Clone)]
pub struct NewRecord {
    pub subject: SubjectId,
    pub owner: AgencyId,
    /// The purpose the information was collected for (利用目的).
    pub purpose: Purpose,
    pub created_by: UserId,
    pub sections: Vec<NewSection>,
}

/// What the hub may know about a section without opening it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionMeta {
    pub record: RecordId,
    pub section: SectionId,
    pub category: Category,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DisclosedSection {
    pub record_id: RecordId,
    pub section_id: SectionId,
    pub category: Category,
    pub content: String,
}

fn section_aad(subject: SubjectId, record: RecordId, section: SectionId, category: Category) -> String {
    format!("tsunagi:section:{subject}:{record}:{section}:{category}")
}

fn parse_meta(record: &str, section: &str, category: &str) -> Result<SectionMeta, StoreError> {
    let bad = |w: &str| StoreError::Corrupt(format!("invalid stored {w}"));
    Ok(SectionMeta {
        record: RecordId::parse(record).map_err(|_| bad("record id"))?,
        section: SectionId::parse(section).map_err(|_| bad("section id"))?,
        category: Category::parse(category).map_err(|_| bad("category"))?,
    })
}

impl Store {
    /// Stores a record owned by `record.owner`, its sections sealed. Provenance: the record came
    /// in directly from its owner (`origin_basis = intake`).
    pub async fn create_record(
        &self,
        record: NewRecord,
        now: OffsetDateTime,
    ) -> Result<(RecordId, Vec<SectionId>), StoreError> {
        let key = self.data_key(record.subject).await?;
        let id = RecordId::new_random();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO records (id, subject_id, owner_agency, purpose, origin_basis, origin_body, created_by_user, created_at_ms) \
             VALUES ($1, $2, $3, $4, 'intake', NULL, $5, $6)",
        )
        .bind(id.to_string())
        .bind(record.subject.to_string())
        .bind(record.owner.as_str().to_owned())
        .bind(record.purpose.as_str().to_owned())
        .bind(record.created_by.as_str().to_owned())
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        let mut section_ids = Vec::with_capacity(record.sections.len());
        for (pos, s) in record.sections.iter().enumerate() {
            let sid = SectionId::new_random();
            let aad = section_aad(record.subject, id, sid, s.category);
            let sealed = key.seal(aad.as_bytes(), s.content.as_str().as_bytes())?;
            sqlx::query(
                "INSERT INTO sections (id, record_id, position, category, ciphertext) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(sid.to_string())
            .bind(id.to_string())
            .bind(i64::try_from(pos).unwrap_or(i64::MAX))
            .bind(s.category.as_str())
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
            section_ids.push(sid);
        }
        tx.commit().await?;
        Ok((id, section_ids))
    }

    /// The sections of `owner`'s records about `subject`: ids and categories, no content.
    pub async fn section_index(&self, subject: SubjectId, owner: &AgencyId) -> Result<Vec<SectionMeta>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT r.id, s.id, s.category FROM records r JOIN sections s ON s.record_id = r.id \
             WHERE r.subject_id = $1 AND r.owner_agency = $2 ORDER BY r.created_at_ms, r.id, s.position",
        )
        .bind(subject.to_string())
        .bind(owner.as_str().to_owned())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|(r, s, c)| parse_meta(r, s, c)).collect()
    }

    /// Opens exactly the sections a durable audit entry released, and nothing else: one query
    /// fetches those sections (and the subject's wrapped key), each is checked to still belong
    /// to the released subject, owner and category, then opened.
    pub async fn read_released(&self, release: &Release) -> Result<Vec<DisclosedSection>, StoreError> {
        let wanted = release.sections();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        // Only generated `$n` placeholders are spliced into the text; every value is bound.
        let placeholders: Vec<String> = (0..wanted.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT s.id, r.id, s.category, s.ciphertext, subj.wrapped_key, subj.kek_id FROM sections s \
             JOIN records r ON r.id = s.record_id JOIN subjects subj ON subj.id = r.subject_id \
             WHERE r.subject_id = $1 AND r.owner_agency = $2 AND s.id IN ({})",
            placeholders.join(", ")
        ));
        let mut query = sqlx::query_as::<_, (String, String, String, Vec<u8>, Vec<u8>, String)>(sql)
            .bind(release.subject().to_string())
            .bind(release.owner().as_str().to_owned());
        for meta in wanted {
            query = query.bind(meta.section.to_string());
        }
        let rows = query.fetch_all(self.pool()).await?;
        let Some(first) = rows.first() else {
            return Err(StoreError::NotFound("section"));
        };
        let wrapped = crate::crypto::WrappedKey {
            kek_id: first.5.clone(),
            bytes: first.4.clone(),
        };
        let key = self.unwrap_data_key(release.subject(), &wrapped)?;
        let mut out = Vec::with_capacity(wanted.len());
        for meta in wanted {
            let (_, record, category, sealed, _, _) = rows
                .iter()
                .find(|r| r.0 == meta.section.to_string())
                .ok_or(StoreError::NotFound("section"))?;
            if *record != meta.record.to_string() || category != meta.category.as_str() {
                return Err(StoreError::Corrupt("released section does not match its record".into()));
            }
            let aad = section_aad(release.subject(), meta.record, meta.section, meta.category);
            let plain = key.open(aad.as_bytes(), sealed)?;
            let content = String::from_utf8(plain).map_err(|_| StoreError::Corrupt("section is not UTF-8".into()))?;
            out.push(DisclosedSection {
                record_id: meta.record,
                section_id: meta.section,
                category: meta.category,
                content,
            });
        }
        Ok(out)
    }
}

type SubjectIndexRow = (
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Store {
    /// The subject (if it exists) and the index of `owner`'s sections about them, in one query:
    /// the first read of the disclosure road.
    pub async fn subject_with_index(
        &self,
        subject: SubjectId,
        owner: &AgencyId,
    ) -> Result<Option<(super::SubjectRow, Vec<SectionMeta>)>, StoreError> {
        let rows: Vec<SubjectIndexRow> = sqlx::query_as(
            "SELECT subj.id, subj.household_id, subj.created_by_agency, subj.created_at_ms, r.id, s.id, s.category \
             FROM subjects subj \
             LEFT JOIN records r ON r.subject_id = subj.id AND r.owner_agency = $2 \
             LEFT JOIN sections s ON s.record_id = r.id \
             WHERE subj.id = $1 ORDER BY r.created_at_ms, r.id, s.position",
        )
        .bind(subject.to_string())
        .bind(owner.as_str().to_owned())
        .fetch_all(self.pool())
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let row = super::subjects::subject_row(&first.0, first.1.clone(), &first.2, first.3)?;
        let mut index = Vec::new();
        for (_, _, _, _, record, section, category) in &rows {
            if let (Some(r), Some(s), Some(c)) = (record, section, category) {
                index.push(parse_meta(r, s, c)?);
            }
        }
        Ok(Some((row, index)))
    }
}
