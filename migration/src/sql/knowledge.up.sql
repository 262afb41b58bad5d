-- Knowledge (seeds 000/001/002): documents with chunks for search, tags, and notes in spaces.

CREATE TYPE kb_status AS ENUM ('draft', 'published', 'archived');

CREATE TABLE kb_documents (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  title text NOT NULL CONSTRAINT kb_documents_title_length CHECK (length(btrim(title)) BETWEEN 1 AND 500),
  slug text NOT NULL CONSTRAINT kb_documents_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,199}$'),
  body text NOT NULL DEFAULT '',
  status kb_status NOT NULL DEFAULT 'draft',
  created_by uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT kb_documents_tenant_slug_key UNIQUE (tenant_id, slug)
);
CREATE INDEX kb_documents_status_idx ON kb_documents (tenant_id, status);

CREATE TABLE kb_chunks (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  document_id uuid NOT NULL,
  chunk_index integer NOT NULL DEFAULT 0 CONSTRAINT kb_chunks_index_nonnegative CHECK (chunk_index >= 0),
  content text NOT NULL,
  embedding vector,
  embedding_model text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT kb_chunks_document_fkey FOREIGN KEY (tenant_id, document_id) REFERENCES kb_documents (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT kb_chunks_document_index_key UNIQUE (tenant_id, document_id, chunk_index)
);

CREATE TABLE kb_tags (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  name text NOT NULL CONSTRAINT kb_tags_name_length CHECK (length(btrim(name)) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT kb_tags_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE kb_document_tags (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  document_id uuid NOT NULL,
  tag_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT kb_document_tags_document_fkey FOREIGN KEY (tenant_id, document_id) REFERENCES kb_documents (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT kb_document_tags_tag_fkey FOREIGN KEY (tenant_id, tag_id) REFERENCES kb_tags (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT kb_document_tags_pair_key UNIQUE (tenant_id, document_id, tag_id)
);
CREATE INDEX kb_document_tags_tag_idx ON kb_document_tags (tenant_id, tag_id);

CREATE TABLE notes (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  space_id uuid NOT NULL,
  created_by uuid NOT NULL REFERENCES users (id),
  title text NOT NULL CONSTRAINT notes_title_length CHECK (length(btrim(title)) BETWEEN 1 AND 500),
  content text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT notes_space_fkey FOREIGN KEY (tenant_id, space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notes_space_idx ON notes (tenant_id, space_id, updated_at);

SELECT atlas_tenant_table('kb_documents');
SELECT atlas_tenant_table('kb_chunks');
SELECT atlas_tenant_table('kb_tags');
SELECT atlas_tenant_table('kb_document_tags');
SELECT atlas_tenant_table('notes');
