DROP TABLE IF EXISTS approvals, decision_memos, intents CASCADE;
DROP TYPE IF EXISTS approval_decision, memo_status, intent_status;
