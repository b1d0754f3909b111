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
    /// Provenance (docs/rules.md#R-G3): how the record came in — `intake` (from its owner), `legal-report`, …
    pub origin_basis: &'static str,
    /// The meeting or conference session the material came from, if any: such a record stays
    /// inside that body unless its coordinator approves otherwise.
    pub origin_session: Option<crate::domain::SessionId>,
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
    /// in directly from its owner (`origin_basis = intake`). A sealed category
    /// (`reporter-identity`) is refused (`Conflict("category_sealed")`): it comes only from
    /// legal-report intake ([`Store::create_legal_report`]).
    pub async fn create_record(
        &self,
        record: NewRecord,
        now: OffsetDateTime,
    ) -> Result<(RecordId, Vec<SectionId>), StoreError> {
        if record.sections.iter().any(|s| s.category.is_sealed()) {
            return Err(StoreError::Conflict("category_sealed"));
        }
        self.insert_record(record, now).await
    }

    /// Stores a record as given, sealed sections included (legal-report intake only).
    pub(super) async fn insert_record(
        &self,
        record: NewRecord,
        now: OffsetDateTime,
    ) -> Result<(RecordId, Vec<SectionId>), StoreError> {
        let key = self.data_key(record.subject).await?;
        let id = RecordId::new_random();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO records (id, subject_id, owner_agency, purpose, origin_basis, origin_body, origin_session, created_by_user, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(record.subject.to_string())
        .bind(record.owner.as_str().to_owned())
        .bind(record.purpose.as_str().to_owned())
        .bind(record.origin_basis)
        .bind(record.origin_session.map(|s| s.to_string()))
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
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(|(r, s, c)| parse_meta(r, s, c)).collect()
    }
}

type SubjectIndexRow = (
    String,          // subject id
    Option<String>,  // household id
    String,          // created by agency
    i64,             // created at
    Vec<u8>,         // wrapped data key
    String,          // kek id
    Option<String>,  // record id
    Option<String>,  // section id
    Option<String>,  // category
    Option<Vec<u8>>, // ciphertext
    Option<String>,  // record purpose
    Option<String>,  // record origin session
);

/// The owner's sections about one subject, still sealed. Plaintext comes out only through
/// [`Store::open_released`] with the [`Release`] the audit log issues for exactly these
/// sections once the decision is durable.
pub struct SealedSections {
    subject: SubjectId,
    owner: AgencyId,
    wrapped: crate::crypto::WrappedKey,
    sections: Vec<(SectionMeta, Vec<u8>)>,
    /// Per record: its original purpose and the session it came from, if any.
    records: Vec<(crate::domain::RecordId, String, Option<String>)>,
}

impl std::fmt::Debug for SealedSections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSections")
            .field("sections", &self.sections.len())
            .finish_non_exhaustive()
    }
}

impl SealedSections {
    /// The person's data was erased: nothing can be opened.
    pub fn erased(&self) -> bool {
        self.wrapped.kek_id == super::ERASED_KEK
    }

    /// Ids and categories, in record order.
    pub fn index(&self) -> impl Iterator<Item = &SectionMeta> {
        self.sections.iter().map(|(m, _)| m)
    }

    /// The original purpose of a record.
    pub fn purpose_of(&self, record: crate::domain::RecordId) -> Option<&str> {
        self.records.iter().find(|r| r.0 == record).map(|r| r.1.as_str())
    }

    /// The session a record's material came from, if any (provenance, docs/rules.md#R-G3).
    pub fn origin_session_of(&self, record: crate::domain::RecordId) -> Option<&str> {
        self.records.iter().find(|r| r.0 == record).and_then(|r| r.2.as_deref())
    }
}

impl Store {
    /// The subject (if it exists) and `owner`'s sections about them, sealed, in one query: the
    /// only read of the disclosure road before its decision is on record.
    pub async fn subject_with_sections(
        &self,
        subject: SubjectId,
        owner: &AgencyId,
    ) -> Result<Option<(super::SubjectRow, SealedSections)>, StoreError> {
        let rows: Vec<SubjectIndexRow> = sqlx::query_as(
            "SELECT subj.id, subj.household_id, subj.created_by_agency, subj.created_at_ms, subj.wrapped_key, subj.kek_id, \
             r.id, s.id, s.category, s.ciphertext, r.purpose, r.origin_session \
             FROM subjects subj \
             LEFT JOIN records r ON r.subject_id = subj.id AND r.owner_agency = $2 \
             LEFT JOIN sections s ON s.record_id = r.id \
             WHERE subj.id = $1 ORDER BY r.created_at_ms, r.id, s.position",
        )
        .bind(subject.to_string())
        .bind(owner.as_str().to_owned())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let row = super::subjects::subject_row(&first.0, first.1.clone(), &first.2, first.3)?;
        let wrapped = crate::crypto::WrappedKey {
            bytes: first.4.clone(),
            kek_id: first.5.clone(),
        };
        let mut sections = Vec::new();
        let mut records: Vec<(crate::domain::RecordId, String, Option<String>)> = Vec::new();
        for r in rows {
            if let (Some(rec), Some(sec), Some(cat), Some(ct)) = (r.6, r.7, r.8, r.9) {
                let meta = parse_meta(&rec, &sec, &cat)?;
                if !records.iter().any(|x| x.0 == meta.record) {
                    records.push((meta.record, r.10.unwrap_or_default(), r.11));
                }
                sections.push((meta, ct));
            }
        }
        Ok(Some((
            row,
            SealedSections {
                subject,
                owner: owner.clone(),
                wrapped,
                sections,
                records,
            },
        )))
    }

    /// Opens exactly the sections a durable audit entry released, and nothing else.
    pub fn open_released(
        &self,
        sealed: &SealedSections,
        release: &Release,
    ) -> Result<Vec<DisclosedSection>, StoreError> {
        if release.sections().is_empty() {
            return Ok(Vec::new());
        }
        if release.subject() != sealed.subject || release.owner() != &sealed.owner {
            return Err(StoreError::Corrupt("release does not match the sealed sections".into()));
        }
        let key = self.unwrap_data_key(sealed.subject, &sealed.wrapped)?;
        let mut out = Vec::with_capacity(release.sections().len());
        for meta in release.sections() {
            let (_, ciphertext) = sealed
                .sections
                .iter()
                .find(|(m, _)| m == meta)
                .ok_or(StoreError::NotFound("section"))?;
            let aad = section_aad(sealed.subject, meta.record, meta.section, meta.category);
            let plain = key.open(aad.as_bytes(), ciphertext)?;
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

/// One stored section's age facts, for retention.
#[derive(Debug, Clone)]
pub struct SectionAge {
    pub section: String,
    pub record: crate::domain::RecordId,
    pub subject: SubjectId,
    pub owner: AgencyId,
    pub category: crate::domain::Category,
    pub record_created_at_ms: i64,
}

impl Store {
    /// Every section with its record's owner and age (no content), for retention.
    pub async fn section_ages(&self) -> Result<Vec<SectionAge>, StoreError> {
        let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT s.id, r.id, r.subject_id, r.owner_agency, s.category, r.created_at_ms \
             FROM sections s JOIN records r ON r.id = s.record_id ORDER BY r.id, s.position",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(section, record, subject, owner, category, at)| {
                let bad = |what: &str| StoreError::Corrupt(format!("invalid stored {what}"));
                Ok(SectionAge {
                    section,
                    record: crate::domain::RecordId::parse(&record).map_err(|_| bad("record id"))?,
                    subject: SubjectId::parse(&subject).map_err(|_| bad("subject id"))?,
                    owner: AgencyId::parse(&owner).map_err(|_| bad("agency id"))?,
                    category: crate::domain::Category::parse(&category).map_err(|_| bad("category"))?,
                    record_created_at_ms: at,
                })
            })
            .collect()
    }

    /// Deletes these sections of `record` (their retention ended), after the entry `logged`.
    pub async fn delete_sections(
        &self,
        record: crate::domain::RecordId,
        sections: &[String],
        _logged: &crate::audit::Logged,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut n = 0;
        for id in sections {
            n += sqlx::query("DELETE FROM sections WHERE id = $1 AND record_id = $2")
                .bind(id.clone())
                .bind(record.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// How many sections remain about `subject`, across every agency.
    pub async fn sections_left(&self, subject: SubjectId) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sections s JOIN records r ON r.id = s.record_id WHERE r.subject_id = $1",
        )
        .bind(subject.to_string())
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
