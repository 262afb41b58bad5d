//! Knowledge: KB documents (slug unique per tenant), their chunks, tags, and notes in spaces.
use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::KbStatus;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::filter::{DateTimeFilter, EnumFilter, StringFilter, UuidFilter};
use crate::scope::Scope;

crate::crud! {
    /// Knowledge-base documents.
    pub mod kb_documents for kb_documents as "document";
    filter KbDocumentFilter {
        id: UuidFilter => Id,
        slug: StringFilter => Slug,
        title: StringFilter => Title,
        status: EnumFilter<KbStatus> => Status,
        created_by: UuidFilter => CreatedBy,
        updated_at: DateTimeFilter => UpdatedAt,
    }
    order KbDocumentOrderField / KbDocumentOrderBy { Title => Title, CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default UpdatedAt Desc;
    create CreateKbDocumentInput {
        title: String,
        /// URL-safe, unique in the tenant: a-z, 0-9 and '-'.
        slug: String,
        #[graphql(default)]
        body: String,
        #[graphql(default_with = "KbStatus::Draft")]
        status: KbStatus,
        /// The uploaded file the document came from (seed 000's kb_uploads).
        source_file_id: Option<Uuid>,
    }
    update UpdateKbDocumentInput {
        title: Option<String>,
        slug: Option<String>,
        body: Option<String>,
        status: Option<KbStatus>,
        source_file_id: MaybeUndefined<Uuid>,
    }
    roles write Member, delete Manager;
    events none;
    check create super::check_new_document;
    after super::chunk_document;
    narrow super::unarchived;
}

crate::crud! {
    /// A document's chunks (for search; their embeddings are filled in by indexing).
    pub mod kb_chunks for kb_chunks as "document chunk";
    filter KbChunkFilter {
        document_id: UuidFilter => DocumentId,
        content: StringFilter => Content,
    }
    order KbChunkOrderField / KbChunkOrderBy { ChunkIndex => ChunkIndex, } default ChunkIndex Asc;
    create CreateKbChunkInput {
        document_id: Uuid,
        #[graphql(default)]
        chunk_index: i32,
        content: String,
    }
    update UpdateKbChunkInput {
        content: Option<String>,
    }
    roles write Member, delete Member;
    events parent document_id;
}

crate::crud! {
    /// Tags for KB documents.
    pub mod kb_tags for kb_tags as "tag";
    filter KbTagFilter {
        id: UuidFilter => Id,
        name: StringFilter => Name,
    }
    order KbTagOrderField / KbTagOrderBy { Name => Name, } default Name Asc;
    create CreateKbTagInput {
        name: String,
    }
    update UpdateKbTagInput {
        name: Option<String>,
    }
    roles write Member, delete Manager;
    events none;
}

crate::crud! {
    /// A tag on a document.
    pub mod kb_document_tags for kb_document_tags as "document tag";
    filter KbDocumentTagFilter {
        document_id: UuidFilter => DocumentId,
        tag_id: UuidFilter => TagId,
    }
    order KbDocumentTagOrderField / KbDocumentTagOrderBy { CreatedAt => CreatedAt, } default CreatedAt Asc;
    create TagDocumentInput {
        document_id: Uuid,
        tag_id: Uuid,
    }
    update UpdateDocumentTagInput {
        tag_id: Option<Uuid>,
    }
    roles write Member, delete Member;
    events parent document_id;
}

crate::crud! {
    /// Notes in a space.
    pub mod notes for notes as "note";
    filter NoteFilter {
        id: UuidFilter => Id,
        space_id: UuidFilter => SpaceId,
        created_by: UuidFilter => CreatedBy,
        title: StringFilter => Title,
        updated_at: DateTimeFilter => UpdatedAt,
    }
    order NoteOrderField / NoteOrderBy { Title => Title, UpdatedAt => UpdatedAt, CreatedAt => CreatedAt, } default UpdatedAt Desc;
    create CreateNoteInput {
        space_id: Uuid,
        title: String,
        #[graphql(default)]
        content: String,
    }
    update UpdateNoteInput {
        title: Option<String>,
        content: Option<String>,
        space_id: Option<Uuid>,
    }
    roles write Member, delete Member;
    events parent space_id;
}

/// Archived documents are listed only on request: a filter that says nothing of `status` gets
/// `status: { ne: ARCHIVED }`.
fn unarchived(filter: Option<kb_documents::Filter>) -> Option<kb_documents::Filter> {
    fn mentions_status(f: &kb_documents::Filter) -> bool {
        f.status.is_some()
            || f.and.iter().flatten().any(mentions_status)
            || f.or.iter().flatten().any(mentions_status)
            || f.not.as_deref().is_some_and(mentions_status)
    }
    let mut f = filter.unwrap_or_default();
    if !mentions_status(&f) {
        f.status = Some(EnumFilter { eq: None, ne: Some(KbStatus::Archived), in_list: None });
    }
    Some(f)
}

async fn check_new_document(_scope: &Scope, input: &mut kb_documents::Create) -> Result<()> {
    input.slug = input.slug.trim().to_lowercase();
    if input.title.trim().is_empty() {
        return Err(ServiceError::bad_input("title", "title must not be empty"));
    }
    Ok(())
}

/// A document's body as its KB chunks (paragraph-aware, overlapping), replaced when the body
/// changes; a trigger then queues their vectorisation. A document without a body keeps whatever
/// chunks were written to it directly.
async fn chunk_document(scope: &Scope, doc: &entity::kb_documents::Model) -> Result<()> {
    use sea_orm::ConnectionTrait;
    if doc.body.trim().is_empty() {
        return Ok(());
    }
    let chunks = crate::embedding::chunk_text(&doc.body, 1200, 200);
    let existing = kb_chunks_of(scope, doc).await?;
    if existing == chunks {
        return Ok(());
    }
    let tx = scope.tx().await?;
    tx.execute_raw(crate::query::raw(
        scope,
        "DELETE FROM kb_chunks WHERE tenant_id = $1 AND document_id = $2",
        [doc.id.into()],
    )?)
    .await?;
    let rows: Vec<serde_json::Value> =
        chunks.iter().enumerate().map(|(i, c)| serde_json::json!({ "id": Uuid::now_v7(), "i": i, "c": c })).collect();
    tx.execute_raw(crate::query::raw(scope, "INSERT INTO kb_chunks (tenant_id, id, document_id, chunk_index, content)          SELECT $1, r.id, $2, r.i, r.c FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, i int, c text)", [doc.id.into(), serde_json::Value::Array(rows).into()])?)
    .await?;
    Ok(())
}

async fn kb_chunks_of(scope: &Scope, doc: &entity::kb_documents::Model) -> Result<Vec<String>> {
    use sea_orm::ConnectionTrait;
    let tx = scope.tx().await?;
    let rows = tx
        .query_all_raw(crate::query::raw(
            scope,
            "SELECT content FROM kb_chunks WHERE tenant_id = $1 AND document_id = $2 ORDER BY chunk_index",
            [doc.id.into()],
        )?)
        .await?;
    rows.iter().map(|r| Ok(r.try_get::<String>("", "content")?)).collect()
}
