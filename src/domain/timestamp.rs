//! Timestamps as they cross the hub's edges: RFC 3339 in, RFC 3339 out. Both front ends parse
//! request times here, so a bad time is the same `invalid_time` error everywhere.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ValidationError;

/// An RFC 3339 timestamp from request field `field` (`invalid_time` otherwise).
pub fn parse_rfc3339(field: &str, s: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| ValidationError::new(field, "invalid_time", "must be an RFC 3339 timestamp"))
}

/// `t` as RFC 3339 text (empty only for a year the format cannot write).
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_and_bad_ones_name_their_field() {
        let t = parse_rfc3339("held_at", "2026-04-01T10:00:00+09:00").unwrap();
        assert_eq!(rfc3339(t), "2026-04-01T10:00:00+09:00");
        let err = parse_rfc3339("held_at", "tomorrow").unwrap_err();
        assert_eq!((err.field.as_str(), err.code), ("held_at", "invalid_time"));
    }
}
