-- Chat (seed 002): chats in spaces, ordered messages made of parts (text, image, tool-call,
-- tool-result), and the streams that produce assistant replies.

CREATE TYPE message_role AS ENUM ('system', 'user', 'assistant', 'tool');
CREATE TYPE chat_stream_status AS ENUM ('active', 'finished', 'failed', 'cancelled');

CREATE TABLE chats (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  space_id uuid,
  created_by uuid NOT NULL REFERENCES users (id),
  title text NOT NULL DEFAULT 'New chat',
  model text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT chats_space_fkey FOREIGN KEY (tenant_id, space_id) REFERENCES spaces (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chats_space_idx ON chats (tenant_id, space_id, updated_at);
CREATE INDEX chats_owner_idx ON chats (tenant_id, created_by, updated_at);

CREATE TABLE messages (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  chat_id uuid NOT NULL,
  seq bigint NOT NULL DEFAULT 0,
  role message_role NOT NULL,
  parts jsonb NOT NULL DEFAULT '[]'::jsonb CONSTRAINT messages_parts_array CHECK (jsonb_typeof(parts) = 'array'),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT messages_chat_fkey FOREIGN KEY (tenant_id, chat_id) REFERENCES chats (tenant_id, id) ON DELETE CASCADE,
  CONSTRAINT messages_chat_seq_key UNIQUE (tenant_id, chat_id, seq)
);
CREATE FUNCTION atlas_message_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(NEW.tenant_id::text || NEW.chat_id::text, 1));
  NEW.seq := coalesce((SELECT max(seq) FROM messages WHERE tenant_id = NEW.tenant_id AND chat_id = NEW.chat_id), 0) + 1;
  RETURN NEW;
END $$;
CREATE TRIGGER assign_seq BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION atlas_message_seq();

CREATE TABLE chat_streams (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  id uuid NOT NULL,
  chat_id uuid NOT NULL,
  status chat_stream_status NOT NULL DEFAULT 'active',
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CONSTRAINT chat_streams_chat_fkey FOREIGN KEY (tenant_id, chat_id) REFERENCES chats (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_streams_chat_idx ON chat_streams (tenant_id, chat_id);

SELECT atlas_tenant_table('chats');
SELECT atlas_tenant_table('messages');
SELECT atlas_tenant_table('chat_streams');
