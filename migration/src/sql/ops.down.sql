DROP TABLE IF EXISTS suggestions, publish_events, ticket_comments, tickets, assets, budgets, ledger_entries,
  crm_segment_members, crm_segments, crm_contacts, crm_companies, integrations CASCADE;
DROP TYPE IF EXISTS suggestion_status, publish_status, ticket_category, ticket_severity, ticket_status,
  budget_period, ledger_category, ledger_entry_type;
