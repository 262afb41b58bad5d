//! Knowledge in GraphQL: KB documents, chunks, tags, and notes.

use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::KbStatus;
use service::knowledge::{kb_chunks, kb_document_tags, kb_documents, kb_tags, notes};
use uuid::Uuid;

use super::tenancy::{Space, User};

object! {
    /// A knowledge-base document.
    KbDocument from entity::kb_documents::Model {
        id: Uuid,
        title: String,
        slug: String,
        body: String,
        status: KbStatus,
        source_file_id: Option<Uuid>,
        created_by: Uuid,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A chunk of a document (its embedding is kept for search, not shown).
    KbChunk from entity::kb_chunks::Model {
        id: Uuid,
        document_id: Uuid,
        chunk_index: i32,
        content: String,
        embedding_model: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A tag for documents.
    KbTag from entity::kb_tags::Model {
        id: Uuid,
        name: String,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A tag on a document.
    KbDocumentTag from entity::kb_document_tags::Model {
        id: Uuid,
        document_id: Uuid,
        tag_id: Uuid,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A note in a space.
    Note from entity::notes::Model {
        id: Uuid,
        space_id: Uuid,
        created_by: Uuid,
        title: String,
        content: String,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    KbDocument {
        many chunks: KbChunk = entity::kb_chunks::Entity["document_id"] by id;
        many tags: KbDocumentTag = entity::kb_document_tags::Entity["document_id"] by id;
        one author: User = entity::users::Entity[created_by];
        /// The uploaded file the document came from, if any.
        one source_file: super::files::File = entity::files::Entity[source_file_id];
    }
}

complex! {
    KbChunk {
        one document: KbDocument = entity::kb_documents::Entity[document_id];
    }
}

complex! {
    KbTag {
        many documents: KbDocumentTag = entity::kb_document_tags::Entity["tag_id"] by id;
    }
}

complex! {
    KbDocumentTag {
        one document: KbDocument = entity::kb_documents::Entity[document_id];
        one tag: KbTag = entity::kb_tags::Entity[tag_id];
    }
}

complex! {
    Note {
        one space: Space = entity::spaces::Entity[space_id];
        one author: User = entity::users::Entity[created_by];
    }
}

crud_fields! {
    kb_documents => KbDocument;
    query KbDocumentQuery { kb_document, kb_documents }
    mutation KbDocumentMutation { create_kb_document, update_kb_document, delete_kb_document }
}

crud_fields! {
    kb_chunks => KbChunk;
    query KbChunkQuery { kb_chunk, kb_chunks }
    mutation KbChunkMutation { create_kb_chunk, update_kb_chunk, delete_kb_chunk }
}

crud_fields! {
    kb_tags => KbTag;
    query KbTagQuery { kb_tag, kb_tags }
    mutation KbTagMutation { create_kb_tag, update_kb_tag, delete_kb_tag }
}

crud_fields! {
    kb_document_tags => KbDocumentTag;
    query KbDocumentTagQuery { kb_document_tag, kb_document_tags }
    mutation KbDocumentTagMutation { tag_kb_document, update_kb_document_tag, untag_kb_document }
}

crud_fields! {
    notes => Note;
    query NoteQuery { note, notes }
    mutation NoteMutation { create_note, update_note, delete_note }
}
