//! A subject's disclosure report (docs/rules.md#R-G7; APPI disclosure requests): every disclosure
//! decision about one person, across all agencies, each line with its inclusion proof against
//! one signed checkpoint — as JSON or CSV.
//!
//! What a line leaves out, on purpose: the requesting staff member and their certificate (third
//! parties), the household and records (other people's data), the policy internals, any free
//! text of the basis, and everything about a sealed reporter: the sealed category is dropped from
//! the category lists, and for a `legal-report` basis the owning agency (the agency that filed
//! the abuse report), the requesting side and the basis reference (the report id) read `sealed`.
//!
//! [`seal_reporter`] does the same for entries shown whole to privacy officers (log search):
//! in a `legal-report` disclosure the owning agency, the record ids, the report id and the
//! justification; in a `legal-report-filed` event the acting user and agency and the report id.

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

use super::merkle::Hash;
use crate::domain::Category;
use crate::store::{FoundEntry, StoredCheckpoint};

/// Placeholder for withheld values.
pub const WITHHELD: &str = "withheld";

/// Placeholder for values sealed because they could point to an abuse reporter.
pub const SEALED: &str = "sealed";

/// Seals, in a log entry (as JSON), every field that could point to the person or agency that
/// filed an abuse report; see the module documentation. Returns whether anything was sealed.
/// The entry's leaf hash still covers the original bytes.
pub fn seal_reporter(entry: &mut Value) -> bool {
    let sealed = Value::String(SEALED.to_owned());
    let kind = entry.get("kind").and_then(Value::as_str).unwrap_or_default();
    let fields: &[&str] = if kind == "disclosure"
        && entry.get("basis").and_then(|b| b.get("type")).and_then(Value::as_str) == Some("legal-report")
    {
        if let Some(basis) = entry.get_mut("basis").and_then(Value::as_object_mut) {
            for (k, v) in basis.iter_mut() {
                if k != "type" {
                    *v = sealed.clone();
                }
            }
        }
        &["owner_agency", "records", "justification"]
    } else if kind == "event" && entry.get("event").and_then(Value::as_str) == Some("legal-report-filed") {
        &["user", "agency", "reference"]
    } else {
        return false;
    };
    if let Some(obj) = entry.as_object_mut() {
        for f in fields {
            if let Some(v) = obj.get_mut(*f)
                && !v.is_null()
            {
                *v = sealed.clone();
            }
        }
    }
    true
}

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
    let (agency, organ, owner, reference) = if sealed_reporter {
        (
            SEALED.to_owned(),
            SEALED.to_owned(),
            SEALED.to_owned(),
            Some(SEALED.to_owned()),
        )
    } else {
        (
            text(&requester, "agency"),
            text(&requester, "organ"),
            text(&v, "owner_agency"),
            basis_ref(&basis),
        )
    };
    Some(ReportLine {
        index: found.index,
        at: text(&v, "at"),
        decision: text(&v, "decision"),
        recipient_agency: agency,
        recipient_organ: organ,
        owner_agency: owner,
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

    fn json_sealed() -> Value {
        Value::String(SEALED.into())
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
        let mut legal = e.clone();
        legal["basis"] = serde_json::json!({"type": "legal-report", "report_id": "r-9"});
        let l = line(&found(legal.clone()), &[]).unwrap();
        assert_eq!(
            (
                l.recipient_agency.as_str(),
                l.owner_agency.as_str(),
                l.basis_ref.as_deref()
            ),
            (SEALED, SEALED, Some(SEALED))
        );
        assert!(!serde_json::to_string(&l).unwrap().contains("r-9"));
        // The same entry shown whole to an officer.
        let mut whole = legal;
        whole["records"] = serde_json::json!(["rec-1"]);
        assert!(seal_reporter(&mut whole));
        let text = whole.to_string();
        for gone in ["regional-support-centre", "rec-1", "r-9"] {
            assert!(!text.contains(gone), "{gone}: {text}");
        }
        assert_eq!(whole["basis"]["type"], "legal-report");
        let mut filed = serde_json::json!({"v": 1, "kind": "event", "event": "legal-report-filed", "at": "t",
            "user": "suzuki", "agency": "sapota", "subject": "p", "reference": "r-9",
            "detail": {"report_type": "child-abuse", "receiving_agency": "child-services"}});
        assert!(seal_reporter(&mut filed));
        assert_eq!(
            (&filed["user"], &filed["agency"], &filed["reference"]),
            (&json_sealed(), &json_sealed(), &json_sealed())
        );
        let mut consent = e.clone();
        assert!(!seal_reporter(&mut consent));
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
        assert!(csv.contains(",sealed,sealed,sealed,legal-report,sealed,"), "{csv}");
        assert!(csv.contains(",\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\","), "{csv}");
    }
}
