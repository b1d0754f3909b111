//! Sharing-policy rules as data: parsing and validation of `policy.csv` lines. Every rule is
//! checked before it reaches Casbin, so a stored policy can never make evaluation fail or panic
//! (casbin-rs `unwrap`s bad patterns and unknown effects inside `enforce`). Our matcher uses only
//! equality and the literal wildcard `*`, never patterns.
//!
//! Rule form: `p, <role|*>, <agency|*>, <action>, <object|*>, <allow|deny>`.

use std::fmt;

use crate::domain::{AgencyId, BasisKind, Category, Role};

/// Actions the policy speaks about. Disclosure actions are `disclose:<basis>` with a category
/// as object; management actions take `*` as object.
pub const MANAGEMENT_ACTIONS: [&str; 32] = [
    "subjects:write",
    "subjects:erase",
    "records:write",
    "records:read-index",
    "consents:write",
    "consents:read",
    "assignments:write",
    "meetings:write",
    "meetings:read",
    "pledges:write",
    "meetings:join",
    "info-requests:answer",
    "legal-reports:write",
    "emergency:request",
    "emergency:review",
    "notifications:read",
    "policy:read",
    "policy:write",
    "policy:approve",
    "audit:checkpoint",
    "audit:proof",
    "audit:read",
    "console:sessions",
    "referrals:write",
    "referrals:answer",
    "referrals:read",
    "plans:write",
    "plans:read",
    "plans:monitor",
    "figures:read",
    "notes:write",
    "notes:read",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyRule {
    pub role: String,
    pub agency: String,
    pub action: String,
    pub object: String,
    pub effect: Effect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }
}

impl fmt::Display for PolicyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p, {}, {}, {}, {}, {}",
            self.role,
            self.agency,
            self.action,
            self.object,
            self.effect.as_str()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RuleError {
    pub line: usize,
    pub code: &'static str,
    pub message: String,
}

fn err(line: usize, code: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        line,
        code,
        message: message.into(),
    }
}

/// The basis a disclosure action names, if it is one.
pub fn disclosure_basis(action: &str) -> Option<BasisKind> {
    BasisKind::ALL.into_iter().find(|b| b.disclose_action() == action)
}

impl PolicyRule {
    /// Validates one rule. `line` is for error messages.
    pub fn validate(&self, line: usize) -> Result<(), RuleError> {
        if self.role != "*" {
            Role::parse(&self.role).map_err(|_| err(line, "unknown_role", format!("unknown role '{}'", self.role)))?;
        }
        if self.agency != "*" {
            AgencyId::parse(&self.agency)
                .map_err(|_| err(line, "invalid_agency", format!("invalid agency id '{}'", self.agency)))?;
        }
        if let Some(_basis) = disclosure_basis(&self.action) {
            if self.object != "*" {
                let c = Category::parse(&self.object)
                    .map_err(|_| err(line, "unknown_category", format!("unknown category '{}'", self.object)))?;
                if c.is_sealed() && self.effect == Effect::Allow {
                    return Err(err(
                        line,
                        "sealed_category",
                        format!("'{c}' is sealed: no rule may allow disclosing it"),
                    ));
                }
            }
        } else if MANAGEMENT_ACTIONS.contains(&self.action.as_str()) {
            if self.object != "*" {
                return Err(err(line, "invalid_object", "management actions take '*' as object"));
            }
        } else {
            return Err(err(line, "unknown_action", format!("unknown action '{}'", self.action)));
        }
        Ok(())
    }
}

/// Parses policy CSV text. Blank lines and `#` comments are skipped; every other line must be a
/// valid `p` rule. Duplicates are refused (they would make "which rule decided" ambiguous).
pub fn parse_policy(text: &str) -> Result<Vec<PolicyRule>, RuleError> {
    let mut rules: Vec<PolicyRule> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = trimmed.split(',').map(str::trim).collect();
        let ["p", role, agency, action, object, effect] = fields.as_slice() else {
            return Err(err(
                line,
                "syntax",
                "expected: p, role, agency, action, object, allow|deny",
            ));
        };
        let effect = match *effect {
            "allow" => Effect::Allow,
            "deny" => Effect::Deny,
            other => {
                return Err(err(line, "unknown_effect", format!("unknown effect '{other}'")));
            }
        };
        let rule = PolicyRule {
            role: (*role).to_owned(),
            agency: (*agency).to_owned(),
            action: (*action).to_owned(),
            object: (*object).to_owned(),
            effect,
        };
        rule.validate(line)?;
        if rules.contains(&rule) {
            return Err(err(line, "duplicate", format!("duplicate rule '{rule}'")));
        }
        rules.push(rule);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rules_parse_and_print_back() {
        let text = "# comment\n\np, caseworker, *, disclose:consent, identity, allow\np, *, *, disclose:consent, reporter-identity, deny\n";
        let rules = parse_policy(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0].to_string(),
            "p, caseworker, *, disclose:consent, identity, allow"
        );
    }

    #[test]
    fn bad_rules_are_refused_with_a_reason() {
        let cases = [
            ("p, boss, *, disclose:consent, identity, allow", "unknown_role"),
            (
                "p, caseworker, JOBOTA, disclose:consent, identity, allow",
                "invalid_agency",
            ),
            ("p, caseworker, *, disclose:consent, secrets, allow", "unknown_category"),
            (
                "p, caseworker, *, disclose:consent, reporter-identity, allow",
                "sealed_category",
            ),
            ("p, caseworker, *, delete-everything, *, allow", "unknown_action"),
            ("p, caseworker, *, consents:write, identity, allow", "invalid_object"),
            ("p, caseworker, *, disclose:consent, identity, maybe", "unknown_effect"),
            ("p, caseworker, *, disclose:consent, identity", "syntax"),
            (
                "p, caseworker, *, disclose:consent, regexMatch(.*), allow",
                "unknown_category",
            ),
            (
                "p, caseworker, *, consents:read, *, allow\np, caseworker, *, consents:read, *, allow",
                "duplicate",
            ),
        ];
        for (text, code) in cases {
            assert_eq!(parse_policy(text).unwrap_err().code, code, "{text}");
        }
    }
}
