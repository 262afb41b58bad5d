DROP TABLE IF EXISTS chat_streams, messages, chats CASCADE;
DROP FUNCTION IF EXISTS atlas_message_seq();
DROP TYPE IF EXISTS chat_stream_status, message_role;
