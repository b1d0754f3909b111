//! Shared case notes (docs/rules.md#R-T9): a plan's team timeline. A note is sealed with the
//! subject's data key, bound through the AEAD's associated data to its plan, its id and its
//! category, so a ciphertext moved to another plan's timeline (or relabelled) fails to open.
//!
//! Notes live only in `case_notes` — never in `records`/`sections` — so the disclosure road,
//! which reads only an owner's sections, can never release one (no onward disclosure,
//! docs/rules.md#R-T11). Writing takes the [`Logged`] of the `case-note-posted` entry; content
//! is opened only by [`Store::open_case_notes`] for exactly the notes a durable team-read entry
//! released.

use time::OffsetDateTime;

use super::{Store, StoreError, from_ms, to_ms};
use crate::audit::{Logged, TeamRelease};
use crate::domain::{AgencyId, Category, FreeText, NoteId, PlanId, SubjectId, UserId};

/// A note as its author posts it (validated).
#[derive(Debug, Clone)]
pub struct NewCaseNote {
    pub id: NoteId,
    /// The plan whose team timeline it goes to.
    pub plan: PlanId,
    pub subject: SubjectId,
    pub author_agency: AgencyId,
    pub author_user: UserId,
    pub category: Category,
    /// Provenance: the kind of basis the team rested on when it was posted, and its reference
    /// (a session id, or the consent ids).
    pub basis: String,
    pub basis_ref: String,
    pub content: FreeText,
    /// Why a special-care note is needed (meeting and conference bases, docs/rules.md#R-C2).
    pub justification: Option<FreeText>,
}

/// What the hub may know about a note without opening it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NoteMeta {
    pub id: NoteId,
    pub author_agency: AgencyId,
    pub author_user: String,
    pub category: Category,
    pub basis: String,
    pub basis_ref: String,
    /// The posting entry's position in the log.
    pub audit_index: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub justified: bool,
}

/// A plan's notes, sealed: metadata for the decision, ciphertexts for the release.
pub struct SealedNotes {
    subject: SubjectId,
    plan: PlanId,
    wrapped: crate::crypto::WrappedKey,
    notes: Vec<(NoteMeta, Vec<u8>, Option<Vec<u8>>)>,
}

impl std::fmt::Debug for SealedNotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedNotes")
            .field("notes", &self.notes.len())
            .finish_non_exhaustive()
    }
}

impl SealedNotes {
    pub fn subject(&self) -> SubjectId {
        self.subject
    }
    pub fn metas(&self) -> impl Iterator<Item = &NoteMeta> {
        self.notes.iter().map(|(m, _, _)| m)
    }
}

/// One opened note.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenedNote {
    #[serde(flatten)]
    pub meta: NoteMeta,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

fn note_aad(subject: SubjectId, plan: PlanId, note: NoteId, category: Category, part: &str) -> String {
    format!("tsunagi:case-note:{subject}:{plan}:{note}:{category}:{part}")
}

type NoteRow = (
    String,          // id
    String,          // author agency
    String,          // author user
    String,          // category
    String,          // basis
    String,          // basis ref
    Vec<u8>,         // ciphertext
    Option<Vec<u8>>, // justification
    i64,             // audit index
    i64,             // created at
);

impl Store {
    /// Stores a posted note, sealed, after its `case-note-posted` entry is durable.
    pub async fn insert_case_note(
        &self,
        note: &NewCaseNote,
        now: OffsetDateTime,
        logged: &Logged,
    ) -> Result<(), StoreError> {
        let key = self.data_key(note.subject).await?;
        let aad = note_aad(note.subject, note.plan, note.id, note.category, "content");
        let sealed = key.seal(aad.as_bytes(), note.content.as_str().as_bytes())?;
        let justification = note
            .justification
            .as_ref()
            .map(|j| {
                let aad = note_aad(note.subject, note.plan, note.id, note.category, "justification");
                key.seal(aad.as_bytes(), j.as_str().as_bytes())
            })
            .transpose()?;
        sqlx::query(
            "INSERT INTO case_notes (id, plan_id, subject_id, author_agency, author_user, category, basis, basis_ref, \
             ciphertext, justification, audit_index, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(note.id.to_string())
        .bind(note.plan.to_string())
        .bind(note.subject.to_string())
        .bind(note.author_agency.as_str().to_owned())
        .bind(note.author_user.as_str().to_owned())
        .bind(note.category.as_str())
        .bind(note.basis.clone())
        .bind(note.basis_ref.clone())
        .bind(sealed)
        .bind(justification)
        .bind(i64::try_from(logged.receipt().index).unwrap_or(i64::MAX))
        .bind(to_ms(now))
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// A plan's notes, oldest first, sealed: the only read of the timeline before its read is
    /// on record.
    pub async fn plan_notes(&self, subject: SubjectId, plan: PlanId) -> Result<SealedNotes, StoreError> {
        let key: Option<(Vec<u8>, String)> = sqlx::query_as("SELECT wrapped_key, kek_id FROM subjects WHERE id = $1")
            .bind(subject.to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        let (bytes, kek_id) = key.ok_or(StoreError::NotFound("subject"))?;
        if kek_id == super::ERASED_KEK {
            // Nothing about an erased person is read, nor is a read of it logged as a release.
            return Err(StoreError::Erased);
        }
        let rows: Vec<NoteRow> = sqlx::query_as(
            "SELECT id, author_agency, author_user, category, basis, basis_ref, ciphertext, justification, audit_index, \
             created_at_ms FROM case_notes WHERE plan_id = $1 AND subject_id = $2 ORDER BY created_at_ms, audit_index",
        )
        .bind(plan.to_string())
        .bind(subject.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await?;
        let bad = |w: &str| StoreError::Corrupt(format!("invalid stored note {w}"));
        let mut notes = Vec::with_capacity(rows.len());
        for r in rows {
            let meta = NoteMeta {
                id: NoteId::parse(&r.0).map_err(|_| bad("id"))?,
                author_agency: AgencyId::parse(&r.1).map_err(|_| bad("agency"))?,
                author_user: r.2,
                category: Category::parse(&r.3).map_err(|_| bad("category"))?,
                basis: r.4,
                basis_ref: r.5,
                audit_index: u64::try_from(r.8).map_err(|_| bad("audit index"))?,
                created_at: from_ms(r.9)?,
                justified: r.7.is_some(),
            };
            notes.push((meta, r.6, r.7));
        }
        Ok(SealedNotes {
            subject,
            plan,
            wrapped: crate::crypto::WrappedKey { kek_id, bytes },
            notes,
        })
    }

    /// How many notes a plan's timeline holds (no content; for the plan page's heading).
    pub async fn plan_note_count(&self, plan: PlanId) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM case_notes WHERE plan_id = $1")
            .bind(plan.to_string())
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Opens exactly the notes whose ids a durable team-read entry released (`note` items of
    /// the [`TeamRelease`]), and nothing else.
    pub fn open_notes(&self, sealed: &SealedNotes, release: &TeamRelease) -> Result<Vec<OpenedNote>, StoreError> {
        if release.subject() != sealed.subject || release.plan_id() != sealed.plan.to_string() {
            return Err(StoreError::Corrupt("release does not match the sealed notes".into()));
        }
        if !sealed
            .notes
            .iter()
            .any(|(m, _, _)| release.covers("note", &m.id.to_string()))
        {
            return Ok(Vec::new());
        }
        let key = self.unwrap_data_key(sealed.subject, &sealed.wrapped)?;
        let mut out = Vec::new();
        for (meta, ct, just) in &sealed.notes {
            if !release.covers("note", &meta.id.to_string()) {
                continue;
            }
            let aad = note_aad(sealed.subject, sealed.plan, meta.id, meta.category, "content");
            let content = String::from_utf8(key.open(aad.as_bytes(), ct)?)
                .map_err(|_| StoreError::Corrupt("note is not UTF-8".into()))?;
            let justification = just
                .as_ref()
                .map(|j| {
                    let aad = note_aad(sealed.subject, sealed.plan, meta.id, meta.category, "justification");
                    key.open(aad.as_bytes(), j)
                        .map_err(StoreError::from)
                        .and_then(|p| String::from_utf8(p).map_err(|_| StoreError::Corrupt("note is not UTF-8".into())))
                })
                .transpose()?;
            out.push(OpenedNote {
                meta: meta.clone(),
                content,
                justification,
            });
        }
        Ok(out)
    }
}

/// A note's owner and age (no content), for retention: its author agency keeps it under the
/// rule for its category.
#[derive(Debug, Clone)]
pub struct NoteAge {
    pub note: String,
    pub plan: PlanId,
    pub subject: SubjectId,
    pub author: AgencyId,
    pub category: Category,
    pub created_at_ms: i64,
}

impl Store {
    /// Every team note with its author agency, category and age, for retention.
    pub async fn note_ages(&self) -> Result<Vec<NoteAge>, StoreError> {
        let rows: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, plan_id, subject_id, author_agency, category, created_at_ms FROM case_notes \
             ORDER BY plan_id, created_at_ms, id",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.into_iter()
            .map(|(note, plan, subject, author, category, at)| {
                let bad = |what: &str| StoreError::Corrupt(format!("invalid stored note {what}"));
                Ok(NoteAge {
                    note,
                    plan: PlanId::parse(&plan).map_err(|_| bad("plan id"))?,
                    subject: SubjectId::parse(&subject).map_err(|_| bad("subject id"))?,
                    author: AgencyId::parse(&author).map_err(|_| bad("agency id"))?,
                    category: Category::parse(&category).map_err(|_| bad("category"))?,
                    created_at_ms: at,
                })
            })
            .collect()
    }

    /// Deletes these notes of `plan` (their retention ended), after the entry `logged`.
    pub async fn delete_notes(&self, plan: PlanId, notes: &[String], _logged: &Logged) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut n = 0;
        for id in notes {
            n += sqlx::query("DELETE FROM case_notes WHERE id = $1 AND plan_id = $2")
                .bind(id.clone())
                .bind(plan.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    /// How many team notes remain about `subject`.
    pub async fn notes_left(&self, subject: SubjectId) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM case_notes WHERE subject_id = $1")
            .bind(subject.to_string())
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl Store {
    /// How many support plans about `subject` have not ended (retention keeps such a person).
    pub async fn active_plans(&self, subject: SubjectId) -> Result<u64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM support_plans WHERE subject_id = $1 AND state = 'active'")
                .bind(subject.to_string())
                .fetch_one(&mut *self.conn().await?)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
