//! Referrals (つなぎ, docs/rules.md#R-T1): the states a referral moves through. A referral is
//! made `pending`; the receiving agency accepts or declines it, or the referring agency
//! withdraws it, while it is pending — and then it never moves again.

use serde::Serialize;

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReferralState {
    /// Made; the receiving agency has not answered.
    Pending,
    /// The receiving agency took the person on (and linked them under its case number).
    Accepted,
    /// The receiving agency declined, with a reason.
    Declined,
    /// The referring agency took it back before it was answered.
    Withdrawn,
}

impl ReferralState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "accepted" => Self::Accepted,
            "declined" => Self::Declined,
            "withdrawn" => Self::Withdrawn,
            _ => return None,
        })
    }

    /// Whether the receiving agency may still see what travels with the referral (its note and
    /// the shared categories): while pending or once accepted; never after a decline or a
    /// withdrawal (docs/rules.md#R-T3).
    pub fn material_open(self) -> bool {
        matches!(self, Self::Pending | Self::Accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_only_open_ones_carry_material() {
        for s in [
            ReferralState::Pending,
            ReferralState::Accepted,
            ReferralState::Declined,
            ReferralState::Withdrawn,
        ] {
            assert_eq!(ReferralState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReferralState::parse("closed"), None);
        assert!(ReferralState::Pending.material_open());
        assert!(ReferralState::Accepted.material_open());
        assert!(!ReferralState::Declined.material_open());
        assert!(!ReferralState::Withdrawn.material_open());
    }
}
