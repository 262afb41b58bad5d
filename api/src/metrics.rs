//! Prometheus counters, kept as atomics: a handful of numbers does not need a metrics crate.
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub graphql_requests: AtomicU64,
    pub graphql_errors: AtomicU64,
    /// Root fields whose whole subtree the planner answered (`graphql::plan`).
    pub graphql_planned_fields: AtomicU64,
    pub db_statements: AtomicU64,
    pub db_statement_failures: AtomicU64,
    pub db_statement_micros: AtomicU64,
    pub ws_connections: AtomicU64,
    pub events_received: AtomicU64,
}

impl Metrics {
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 9] = [
            ("atlas_http_requests_total", "counter", "HTTP requests served", &self.http_requests),
            ("atlas_graphql_requests_total", "counter", "GraphQL operations executed", &self.graphql_requests),
            ("atlas_graphql_errors_total", "counter", "GraphQL responses with errors", &self.graphql_errors),
            (
                "atlas_graphql_planned_fields_total",
                "counter",
                "root fields answered whole by the query planner",
                &self.graphql_planned_fields,
            ),
            ("atlas_db_statements_total", "counter", "SQL statements sent", &self.db_statements),
            ("atlas_db_statement_failures_total", "counter", "SQL statements that failed", &self.db_statement_failures),
            ("atlas_db_statement_seconds_total", "counter", "time spent in SQL statements", &self.db_statement_micros),
            ("atlas_ws_connections_total", "counter", "WebSocket connections opened", &self.ws_connections),
            ("atlas_events_received_total", "counter", "change events received from PostgreSQL", &self.events_received),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            let v = value.load(Relaxed);
            let shown = if name.ends_with("_seconds_total") { format!("{:.6}", v as f64 / 1e6) } else { v.to_string() };
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {shown}\n"));
        }
        out
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }
}
