-- Governance, continued (seeds 000/001): intents evaluated by policy (SGL), decision memos for
-- risky actions, and the approvals people give them.

CREATE TYPE intent_status AS ENUM ('draft', 'validating', 'executed', 'failed', 'blocked_sgl', 'awaiting_human');
CREATE TYPE memo_status AS ENUM ('proposed', 'approved', 'rejected');
CREATE TYPE approval_decision AS ENUM ('approved', 'rejected');

CREATE TABLE intents (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  agent_id uuid,
  intent_type text NOT NULL CONSTRAINT intents_type_format CHECK (intent_type ~ '^[A-Z][A-Z0-9_]{0,63}$'),
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  sgl_result text,
  status intent_status NOT NULL DEFAULT 'draft',
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT intents_agent_fkey FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (agent_id)
);
CREATE INDEX intents_status_idx ON intents (tenant_id, status, created_at);

CREATE TABLE decision_memos (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  agent_id uuid,
  title text NOT NULL CONSTRAINT decision_memos_title_length CHECK (length(btrim(title)) BETWEEN 1 AND 500),
  rationale text NOT NULL DEFAULT '',
  action text,
  estimated_cost_usd numeric(14, 2) NOT NULL DEFAULT 0 CONSTRAINT decision_memos_cost_nonnegative CHECK (estimated_cost_usd >= 0),
  risk_tier integer NOT NULL DEFAULT 0 CONSTRAINT decision_memos_risk_tier_nonnegative CHECK (risk_tier >= 0),
  requires_approval boolean NOT NULL DEFAULT true,
  status memo_status NOT NULL DEFAULT 'proposed',
  job_id uuid,
  intent_id uuid,
  reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  reviewed_at timestamptz,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT decision_memos_agent_fkey FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (agent_id),
  CONSTRAINT decision_memos_job_fkey FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id) ON DELETE SET NULL (job_id),
  CONSTRAINT decision_memos_intent_fkey FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, id) ON DELETE SET NULL (intent_id)
);
CREATE INDEX decision_memos_status_idx ON decision_memos (tenant_id, status, created_at);

CREATE TABLE approvals (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  intent_id uuid,
  memo_id uuid,
  approver_id uuid NOT NULL REFERENCES users (id),
  decision approval_decision NOT NULL,
  comment text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT approvals_intent_fkey FOREIGN KEY (tenant_id, intent_id) REFERENCES intents (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT approvals_memo_fkey FOREIGN KEY (tenant_id, memo_id) REFERENCES decision_memos (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT approvals_one_subject CHECK (num_nonnulls(intent_id, memo_id) = 1)
);
CREATE INDEX approvals_memo_idx ON approvals (tenant_id, memo_id);
CREATE INDEX approvals_intent_idx ON approvals (tenant_id, intent_id);

SELECT atlas_tenant_table('intents');
SELECT atlas_tenant_table('decision_memos');
SELECT atlas_tenant_table('approvals');
