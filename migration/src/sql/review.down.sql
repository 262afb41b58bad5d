DROP TABLE IF EXISTS bonus_windows, analytics_jobs, likert_scores, data_records, ingest_jobs CASCADE;
DROP TYPE IF EXISTS analytics_status, ingest_status, record_category, record_type;
