//! Counting for the programme's figures (事業実績, docs/rules.md#R-O4): how many rows of a table
//! fall in each month of a fiscal year, grouped by one non-personal key (a state, a body kind,
//! a basis and decision). Only counts leave these functions — never an id or a person.
//!
//! The team-support tables (`referrals`, `support_plans`, `plan_monitoring`) come with their own
//! migrations; [`Store::has_table`] tells the service whether a measure can be counted yet, so
//! the figures work on a database with or without them.

use super::{Engine, Store, StoreError};

/// What one measure counts: rows of `from` whose `time` column falls in a month, grouped by
/// `key`, counted by `count`. Every part is a fixed SQL fragment written in
/// `services::figures`; no input of a request goes into the text.
#[derive(Debug, Clone, Copy)]
pub struct Tally {
    /// The table (with joins).
    pub from: &'static str,
    /// The epoch-milliseconds column that places a row in a month.
    pub time: &'static str,
    /// The grouping key, a text expression (`''` for none).
    pub key: &'static str,
    /// `COUNT(*)` or `COUNT(DISTINCT …)`.
    pub count: &'static str,
    /// Extra conditions (`AND …`), or `""`.
    pub filter: &'static str,
}

impl Store {
    /// Whether the database has table `name` (a later migration may not have run here).
    pub async fn has_table(&self, name: &'static str) -> Result<bool, StoreError> {
        let sql = match self.engine {
            Engine::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            Engine::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let (n,): (i64,) = sqlx::query_as(sql)
            .bind(name)
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(n > 0)
    }

    /// Counts `tally` per bucket: `bounds` are ascending epoch milliseconds, bucket `i` holds
    /// `bounds[i] <= time < bounds[i + 1]`. Returns (bucket, key, count) for non-empty groups.
    pub async fn tally(&self, tally: &Tally, bounds: &[i64]) -> Result<Vec<(usize, String, u64)>, StoreError> {
        let buckets = bounds.len().saturating_sub(1);
        if buckets == 0 {
            return Ok(Vec::new());
        }
        let time = tally.time;
        // CASE WHEN time < $2 THEN 0 WHEN time < $3 THEN 1 … END: one pass over the range.
        let case: String = (1..=buckets)
            .map(|i| format!(" WHEN {time} < ${} THEN {}", i + 1, i - 1))
            .collect();
        let last = buckets + 1;
        // Only fixed fragments and generated placeholders go into the text.
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT CAST(CASE{case} END AS BIGINT) AS bucket, {key} AS k, {count} AS n FROM {from} \
             WHERE {time} >= $1 AND {time} < ${last}{filter} GROUP BY 1, 2 ORDER BY 1, 2",
            key = tally.key,
            count = tally.count,
            from = tally.from,
            filter = tally.filter,
        ));
        let mut q = sqlx::query_as::<_, (i64, String, i64)>(sql);
        for b in bounds {
            q = q.bind(*b);
        }
        let rows = q.fetch_all(&mut *self.conn().await?).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(b, k, n)| {
                let b = usize::try_from(b).ok()?;
                (b < buckets).then(|| (b, k, u64::try_from(n).unwrap_or(0)))
            })
            .collect())
    }
}
