//! Chat in GraphQL: chats, messages with parts, reply streams.
use async_graphql::{Context, Result};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{ChatStreamStatus, MessageRole};
use service::chat::{chat_streams, chats, messages};
use uuid::Uuid;

use super::tenancy::{Space, User};

object! {
    /// A chat with a model, in a space or not.
    Chat from entity::chats::Model {
        id: Uuid,
        space_id: Option<Uuid>,
        created_by: Uuid,
        title: String,
        model: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A message of a chat: a list of parts (text, image, tool-call, tool-result), numbered in order.
    Message from entity::messages::Model {
        id: Uuid,
        chat_id: Uuid,
        seq: i64,
        role: MessageRole,
        parts: serde_json::Value,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A stream producing an assistant reply.
    ChatStream from entity::chat_streams::Model {
        id: Uuid,
        chat_id: Uuid,
        status: ChatStreamStatus,
        started_at: DateTime<FixedOffset>,
        finished_at: Option<DateTime<FixedOffset>>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Chat {
        /// Messages in order.
        many messages: Message = entity::messages::Entity["chat_id"] by id;
        many streams: ChatStream = entity::chat_streams::Entity["chat_id"] by id;
        one space: Space = entity::spaces::Entity[space_id];
        one owner: User = entity::users::Entity[created_by];
    }
}

complex! {
    Message {
        one chat: Chat = entity::chats::Entity[chat_id];
        one author: User = entity::users::Entity[created_by];
    }
}

complex! {
    ChatStream {
        one chat: Chat = entity::chats::Entity[chat_id];
    }
}

crud_fields! {
    chats => Chat;
    query ChatQuery { chat, chats }
    mutation ChatMutation { create_chat, update_chat, delete_chat }
}

crud_fields! {
    messages => Message;
    query MessageQuery { message, messages }
    mutation MessageMutation { post_message, update_message, delete_message }
}

crud_fields! {
    chat_streams => ChatStream;
    query ChatStreamQuery { chat_stream, chat_streams }
    mutation ChatStreamMutation { start_chat_stream, update_chat_stream, delete_chat_stream }
}

#[derive(Default)]
pub struct ChatSubscription;

#[async_graphql::Subscription]
impl ChatSubscription {
    /// A chat's messages as they are posted or changed (a streamed reply updates its message).
    async fn chat_messages(
        &self,
        ctx: &Context<'_>,
        chat_id: Uuid,
    ) -> Result<impl futures_util::Stream<Item = Result<Message>>> {
        super::authorise(ctx).await?;
        super::readable::<entity::chats::Entity>(ctx, "chat", chat_id).await?;
        super::changes(
            ctx,
            "messages",
            move |e| e.parent_id == Some(chat_id),
            None,
            |scope, event| async move { messages::get(&scope, event.id).await.ok().map(Message::from) },
        )
    }
}
