-- Ops (Atlas UX, seeds 000/001): integrations with encrypted tokens, CRM, ledger and budgets,
-- assets, tickets, publish events, suggestions; and settings (per tenant or global).

CREATE TYPE ledger_entry_type AS ENUM ('income', 'expense', 'refund', 'transfer');
CREATE TYPE ledger_category AS ENUM ('ai_usage', 'infrastructure', 'software', 'payroll', 'marketing', 'services', 'other');
CREATE TYPE budget_period AS ENUM ('monthly', 'quarterly', 'yearly');
CREATE TYPE ticket_status AS ENUM ('open', 'in_progress', 'resolved', 'closed');
CREATE TYPE ticket_severity AS ENUM ('low', 'medium', 'high', 'critical');
CREATE TYPE ticket_category AS ENUM ('bug', 'feature', 'question', 'billing', 'other');
CREATE TYPE publish_status AS ENUM ('pending', 'published', 'failed');
CREATE TYPE suggestion_status AS ENUM ('open', 'accepted', 'dismissed');

CREATE TABLE integrations (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  provider text NOT NULL CONSTRAINT integrations_provider_format CHECK (provider ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  config jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- AES-256-GCM ciphertexts (nonce || sealed); the key never reaches the database.
  access_token_enc bytea,
  refresh_token_enc bytea,
  scopes text[] NOT NULL DEFAULT '{}',
  expires_at timestamptz,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT integrations_tenant_provider_key UNIQUE (tenant_id, provider)
);

CREATE TABLE crm_companies (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT crm_companies_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 300),
  domain text,
  industry text,
  notes text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT crm_companies_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE crm_contacts (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  company_id uuid,
  first_name text,
  last_name text,
  email text,
  phone text,
  title text,
  notes text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT crm_contacts_company_fkey FOREIGN KEY (tenant_id, company_id) REFERENCES crm_companies (tenant_id, id) ON DELETE SET NULL (company_id),
  CONSTRAINT crm_contacts_has_name CHECK (num_nonnulls(first_name, last_name, email) > 0)
);
CREATE INDEX crm_contacts_company_idx ON crm_contacts (tenant_id, company_id);
CREATE INDEX crm_contacts_email_idx ON crm_contacts (tenant_id, lower(email));

CREATE TABLE crm_segments (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT crm_segments_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  description text,
  criteria jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT crm_segments_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE crm_segment_members (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  segment_id uuid NOT NULL,
  contact_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT crm_segment_members_segment_fkey FOREIGN KEY (tenant_id, segment_id) REFERENCES crm_segments (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT crm_segment_members_contact_fkey FOREIGN KEY (tenant_id, contact_id) REFERENCES crm_contacts (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT crm_segment_members_pair_key UNIQUE (tenant_id, segment_id, contact_id)
);
CREATE INDEX crm_segment_members_contact_idx ON crm_segment_members (tenant_id, contact_id);

CREATE TABLE ledger_entries (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  entry_type ledger_entry_type NOT NULL,
  category ledger_category NOT NULL DEFAULT 'other',
  amount_cents bigint NOT NULL CONSTRAINT ledger_entries_amount_nonnegative CHECK (amount_cents >= 0),
  currency text NOT NULL DEFAULT 'USD' CONSTRAINT ledger_entries_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  description text,
  reference text,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ledger_entries_category_idx ON ledger_entries (tenant_id, category, occurred_at);

CREATE TABLE budgets (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT budgets_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 200),
  category ledger_category NOT NULL,
  limit_cents bigint NOT NULL CONSTRAINT budgets_limit_nonnegative CHECK (limit_cents >= 0),
  currency text NOT NULL DEFAULT 'USD' CONSTRAINT budgets_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  period budget_period NOT NULL DEFAULT 'monthly',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT budgets_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE assets (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT assets_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 300),
  kind text NOT NULL DEFAULT 'link',
  url text,
  metrics jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX assets_kind_idx ON assets (tenant_id, kind);

CREATE TABLE tickets (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  title text NOT NULL CONSTRAINT tickets_title_length CHECK (length(btrim(title)) BETWEEN 1 AND 500),
  body text NOT NULL DEFAULT '',
  status ticket_status NOT NULL DEFAULT 'open',
  severity ticket_severity NOT NULL DEFAULT 'medium',
  category ticket_category NOT NULL DEFAULT 'other',
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  assignee_id uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, severity);
CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id);

CREATE TABLE ticket_comments (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  ticket_id uuid NOT NULL,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  body text NOT NULL CONSTRAINT ticket_comments_body_nonempty CHECK (length(btrim(body)) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT ticket_comments_ticket_fkey FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ticket_comments_ticket_idx ON ticket_comments (tenant_id, ticket_id, created_at);

CREATE TABLE publish_events (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  channel text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status publish_status NOT NULL DEFAULT 'pending',
  published_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX publish_events_status_idx ON publish_events (tenant_id, status, created_at);

CREATE TABLE suggestions (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  kind text NOT NULL DEFAULT 'general',
  title text NOT NULL CONSTRAINT suggestions_title_length CHECK (length(btrim(title)) BETWEEN 1 AND 500),
  body text NOT NULL DEFAULT '',
  status suggestion_status NOT NULL DEFAULT 'open',
  source_agent_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT suggestions_agent_fkey FOREIGN KEY (tenant_id, source_agent_id) REFERENCES agents (tenant_id, id) ON DELETE SET NULL (source_agent_id)
);
CREATE INDEX suggestions_status_idx ON suggestions (tenant_id, status);

SELECT atlas_tenant_table('integrations');
SELECT atlas_tenant_table('crm_companies');
SELECT atlas_tenant_table('crm_contacts');
SELECT atlas_tenant_table('crm_segments');
SELECT atlas_tenant_table('crm_segment_members');
SELECT atlas_tenant_table('ledger_entries');
SELECT atlas_tenant_table('budgets');
SELECT atlas_tenant_table('assets');
SELECT atlas_tenant_table('tickets');
SELECT atlas_tenant_table('ticket_comments');
SELECT atlas_tenant_table('publish_events');
SELECT atlas_tenant_table('suggestions');
