//! A subject's disclosure report (docs/rules.md#R-G7; APPI disclosure requests): every disclosure
//! decision about one person, across all agencies, each line with its inclusion proof against
//! one signed checkpoint — as JSON or CSV.
//!
//! What a line leaves out, on purpose: the requesting staff member and their certificate (third
//! parties), the household and records (other people's data), the policy internals, any free
//! text of the basis, and everything about a sealed reporter: the sealed category is dropped from
//! the category lists, and for a `legal-report` basis the requesting side and the basis reference
//! are withheld, since they would name the reporter.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::merkle::Hash;
use crate::domain::Category;
use crate::store::{FoundEntry, StoredCheckpoint};

/// Placeholder for withheld values.
pub const WITHHELD: &str = "withheld";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportLine {
    pub index: u64,
    pub at: String,
    /// `allowed` or `refused`.
    pub decision: String,
    pub recipient_agency: String,
    pub recipient_organ: String,
    pub owner_agency: String,
    pub basis: String,
    pub basis_ref: Option<String>,
    pub purpose: String,
    pub disclosed: Vec<String>,
    pub withheld: Vec<String>,
    /// Refusal reason code.
    pub reason: Option<String>,
    /// RFC 6962 leaf hash of the full entry (hex), as on the recipient's receipt.
    pub leaf_hash: String,
    /// Inclusion proof of the entry in the report's checkpoint, leaf's sibling first (hex).
    pub inclusion_proof: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportCheckpoint {
    pub size: u64,
    /// Base64 root hash, as in the checkpoint.
    pub root: String,
    /// The signed checkpoint note.
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubjectReport {
    pub subject_id: String,
    pub generated_at: String,
    pub checkpoint: ReportCheckpoint,
    /// Verifier keys of the log (C2SP vkey text).
    pub verifier_keys: Vec<String>,
    pub lines: Vec<ReportLine>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn categories(v: Option<&Value>, inner: Option<&str>) -> Vec<String> {
    let sealed = Category::ReporterIdentity.as_str();
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| match inner {
                    Some(k) => c.get(k).and_then(Value::as_str),
                    None => c.as_str(),
                })
                .filter(|c| *c != sealed)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The id a basis refers to (`consent_id`, `session_id`, …): the first `*_id` string.
fn basis_ref(basis: &Value) -> Option<String> {
    basis
        .as_object()?
        .iter()
        .find(|(k, v)| k.ends_with("_id") && v.is_string())
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

/// One report line from a stored disclosure entry and its proof; `None` for entries that are
/// not disclosures.
pub fn line(found: &FoundEntry, proof: &[Hash]) -> Option<ReportLine> {
    let v: Value = serde_json::from_slice(&found.entry).ok()?;
    if v.get("kind").and_then(Value::as_str) != Some("disclosure") {
        return None;
    }
    let basis = v.get("basis").cloned().unwrap_or(Value::Null);
    let basis_kind = text(&basis, "type");
    let sealed_reporter = basis_kind == "legal-report";
    let requester = v.get("requester").cloned().unwrap_or(Value::Null);
    let (agency, organ, reference) = if sealed_reporter {
        (WITHHELD.to_owned(), WITHHELD.to_owned(), None)
    } else {
        (text(&requester, "agency"), text(&requester, "organ"), basis_ref(&basis))
    };
    Some(ReportLine {
        index: found.index,
        at: text(&v, "at"),
        decision: text(&v, "decision"),
        recipient_agency: agency,
        recipient_organ: organ,
        owner_agency: text(&v, "owner_agency"),
        basis: basis_kind,
        basis_ref: reference,
        purpose: text(&v, "purpose"),
        disclosed: categories(v.get("disclosed"), None),
        withheld: categories(v.get("withheld"), Some("category")),
        reason: v.get("reason").and_then(Value::as_str).map(str::to_owned),
        leaf_hash: hex::encode(&found.leaf_hash),
        inclusion_proof: proof.iter().map(hex::encode).collect(),
    })
}

pub fn checkpoint_view(cp: &StoredCheckpoint) -> ReportCheckpoint {
    ReportCheckpoint {
        size: cp.size,
        root: base64::engine::general_purpose::STANDARD.encode(cp.root),
        note: cp.note.clone(),
    }
}

/// One CSV field: quoted when needed, and defused when a spreadsheet would run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub const CSV_HEADER: &str = "index,at,decision,recipient_agency,recipient_organ,owner_agency,basis,basis_ref,purpose,\
disclosed,withheld,reason,leaf_hash,checkpoint_size,inclusion_proof";

/// The report as CSV (RFC 4180, CRLF line ends); lists are space-separated within a field.
pub fn to_csv(report: &SubjectReport) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for l in &report.lines {
        let fields = [
            l.index.to_string(),
            l.at.clone(),
            l.decision.clone(),
            l.recipient_agency.clone(),
            l.recipient_organ.clone(),
            l.owner_agency.clone(),
            l.basis.clone(),
            l.basis_ref.clone().unwrap_or_default(),
            l.purpose.clone(),
            l.disclosed.join(" "),
            l.withheld.join(" "),
            l.reason.clone().unwrap_or_default(),
            l.leaf_hash.clone(),
            report.checkpoint.size.to_string(),
            l.inclusion_proof.join(" "),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(entry: Value) -> FoundEntry {
        FoundEntry {
            index: 3,
            leaf_hash: vec![1; 32],
            entry: serde_json::to_vec(&entry).unwrap(),
            subject_pseudonym: None,
            household_pseudonym: None,
            requester_agency: None,
            owner_agency: None,
        }
    }

    #[test]
    fn lines_withhold_third_parties_and_the_sealed_reporter() {
        let e = serde_json::json!({
            "v": 1, "kind": "disclosure", "at": "2026-11-20T01:02:03.000Z",
            "requester": {"user": "tanaka", "agency": "jobota", "organ": "ota-ward", "client_cert": "ab", "roles": ["caseworker"]},
            "owner_agency": "regional-support-centre", "subject": "p", "household": "h",
            "disclosed": ["identity"], "withheld": [{"category": "reporter-identity", "reason": "sealed"}, {"category": "health", "reason": "policy_denied"}],
            "basis": {"type": "consent", "consent_id": "c-1"}, "purpose": "=cmd|' /C calc'!A0, \"quoted\"", "decision": "allowed"
        });
        let l = line(&found(e.clone()), &[[2; 32]]).unwrap();
        assert_eq!(l.recipient_agency, "jobota");
        assert_eq!(l.basis_ref.as_deref(), Some("c-1"));
        assert_eq!(l.withheld, vec!["health"]);
        let json = serde_json::to_string(&l).unwrap();
        for secret in ["tanaka", "reporter-identity", "client_cert", "\"h\""] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
        let mut legal = e;
        legal["basis"] = serde_json::json!({"type": "legal-report", "report_id": "r-9"});
        let l = line(&found(legal), &[]).unwrap();
        assert_eq!((l.recipient_agency.as_str(), l.basis_ref.as_deref()), (WITHHELD, None));
        let report = SubjectReport {
            subject_id: "s".into(),
            generated_at: "now".into(),
            checkpoint: ReportCheckpoint {
                size: 9,
                root: "r".into(),
                note: "n".into(),
            },
            verifier_keys: vec![],
            lines: vec![l],
        };
        let csv = to_csv(&report);
        assert!(csv.starts_with(CSV_HEADER));
        assert!(csv.contains(",\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\","), "{csv}");
    }
}
