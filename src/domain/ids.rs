//! Identifiers. Agency, organ and user ids are short slugs chosen by people (`jobota`);
//! subject, household, record, section and consent ids are UUIDs minted by the hub.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::ValidationError;

/// Parses a slug: 1..=64 chars of `a-z`, `0-9`, `-`, `_`, `.`, starting with a letter or digit.
fn parse_slug(field: &str, s: &str) -> Result<String, ValidationError> {
    let ok_len = !s.is_empty() && s.len() <= 64;
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    let ok_start = s
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok_len && ok_chars && ok_start {
        Ok(s.to_owned())
    } else {
        Err(ValidationError::new(
            field,
            "invalid_id",
            "must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit",
        ))
    }
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                parse_slug($field, s).map(Self)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// An agency (`jobota`, `regional-support-centre`): the unit staff belong to and that owns records.
    AgencyId, "agency"
);
slug_id!(
    /// An organ (機関): the legal unit holding personal information under the APPI.
    OrganId, "organ"
);
slug_id!(
    /// A user as named by the token issuer (`sub`).
    UserId, "user"
);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }
            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                uuid::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| ValidationError::new($field, "invalid_id", "must be a UUID"))
            }
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A person being supported (支援対象者), as known to the hub.
    SubjectId, "subject_id"
);
uuid_id!(
    /// A household (世帯): subjects who live and are supported together.
    HouseholdId, "household_id"
);
uuid_id!(
    /// A case record owned by one agency.
    RecordId, "record_id"
);
uuid_id!(
    /// One section of a record; carries exactly one data category.
    SectionId, "section_id"
);
uuid_id!(
    /// A recorded consent (本人同意).
    ConsentId, "consent_id"
);
uuid_id!(
    /// A standing body: a support meeting (支援会議) or a statutory conference.
    BodyId, "body_id"
);
uuid_id!(
    /// One dated session of a body.
    SessionId, "session_id"
);
uuid_id!(
    /// An item on a session's agenda (one subject or household).
    AgendaItemId, "agenda_item_id"
);
uuid_id!(
    /// An information request of a session to an agency (Art. 106-6(3)).
    InfoRequestId, "info_request_id"
);
uuid_id!(
    /// An abuse report (legal reporting duty).
    ReportId, "report_id"
);
uuid_id!(
    /// A break-glass emergency grant.
    GrantId, "grant_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_accept_the_default_agencies_and_refuse_the_rest() {
        for ok in ["jobota", "regional-support-centre", "child-services", "a1", "x.y_z"] {
            assert!(AgencyId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "JOBOTA", "-x", "a b", "a/b", "ジョボタ", &"a".repeat(65)] {
            let err = AgencyId::parse(bad).unwrap_err();
            assert_eq!(err.code, "invalid_id", "{bad}");
        }
    }

    #[test]
    fn uuid_ids_round_trip() {
        let id = SubjectId::new_random();
        assert_eq!(SubjectId::parse(&id.to_string()).unwrap(), id);
        assert!(SubjectId::parse("not-a-uuid").is_err());
    }
}
