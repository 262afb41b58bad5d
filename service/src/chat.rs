//! Chat: chats (in a space or not), messages made of parts in order, and reply streams.
use entity::sea_orm_active_enums::{ChatStreamStatus, MessageRole};
use sea_orm::prelude::DateTimeWithTimeZone;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::filter::{DateTimeFilter, EnumFilter, IntFilter, StringFilter, UuidFilter};
use crate::scope::Scope;

crate::crud! {
    /// Chats with a model.
    pub mod chats for chats as "chat";
    filter ChatFilter {
        id: UuidFilter => Id,
        space_id: UuidFilter => SpaceId,
        created_by: UuidFilter => CreatedBy,
        title: StringFilter => Title,
        updated_at: DateTimeFilter => UpdatedAt,
    }
    order ChatOrderField / ChatOrderBy { UpdatedAt => UpdatedAt, CreatedAt => CreatedAt, Title => Title, } default UpdatedAt Desc;
    create CreateChatInput {
        space_id: Option<Uuid>,
        #[graphql(default_with = "String::from(\"New chat\")")]
        title: String,
        model: Option<String>,
    }
    update UpdateChatInput {
        title: Option<String>,
        model: async_graphql::MaybeUndefined<String>,
    }
    roles write Member, delete Member;
    events none;
}

crate::crud! {
    /// Messages of a chat, numbered in order (`seq`); each is a list of parts.
    pub mod messages for messages as "message";
    filter MessageFilter {
        chat_id: UuidFilter => ChatId,
        seq: IntFilter => Seq,
        role: EnumFilter<MessageRole> => Role,
    }
    order MessageOrderField / MessageOrderBy { Seq => Seq, } default Seq Asc;
    create PostMessageInput {
        chat_id: Uuid,
        role: MessageRole,
        /// `[{ "type": "text", "content": "…" }, { "type": "image", "url": "…" }, { "type": "tool-call", … }, { "type": "tool-result", … }]`
        parts: serde_json::Value,
    }
    update UpdateMessageInput {
        parts: Option<serde_json::Value>,
    }
    roles write Member, delete Member;
    events parent chat_id;
    check create super::check_new_parts;
    check update super::check_changed_parts;
}

crate::crud! {
    /// Streams producing an assistant reply.
    pub mod chat_streams for chat_streams as "chat stream";
    filter ChatStreamFilter {
        chat_id: UuidFilter => ChatId,
        status: EnumFilter<ChatStreamStatus> => Status,
    }
    order ChatStreamOrderField / ChatStreamOrderBy { StartedAt => StartedAt, } default StartedAt Desc;
    create StartChatStreamInput {
        chat_id: Uuid,
    }
    update UpdateChatStreamInput {
        status: Option<ChatStreamStatus>,
        finished_at: async_graphql::MaybeUndefined<DateTimeWithTimeZone>,
    }
    roles write Member, delete Member;
    events parent chat_id;
}

const PART_TYPES: &[&str] = &["text", "image", "tool-call", "tool-result", "file", "reasoning"];

async fn check_new_parts(_scope: &Scope, input: &mut messages::Create) -> Result<()> {
    check_parts(&input.parts)
}

async fn check_changed_parts(_scope: &Scope, _id: Uuid, input: &mut messages::Update) -> Result<()> {
    input.parts.as_ref().map_or(Ok(()), check_parts)
}

/// Parts are a non-empty list of objects, each with a known `type`.
fn check_parts(parts: &serde_json::Value) -> Result<()> {
    let bad = |m: &str| ServiceError::bad_input("parts", m.to_string());
    let parts = parts.as_array().ok_or_else(|| bad("parts must be a list"))?;
    if parts.is_empty() {
        return Err(bad("a message needs at least one part"));
    }
    for part in parts {
        let kind = part.get("type").and_then(|t| t.as_str()).ok_or_else(|| bad("every part needs a type"))?;
        if !PART_TYPES.contains(&kind) {
            return Err(bad(&format!("unknown part type {kind:?}; use one of {}", PART_TYPES.join(", "))));
        }
    }
    Ok(())
}
