//! Code (Vibe Coder, seed 004): commits, automated reviews, and code chunks for semantic search.
use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::ReviewStatus;
use sea_orm::prelude::DateTimeWithTimeZone;
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::filter::{DateTimeFilter, EnumFilter, IntFilter, StringFilter, UuidFilter};
use crate::scope::Scope;

crate::crud! {
    /// Commits made for a project (and a task), with git metadata.
    pub mod commits for commits as "commit";
    filter CommitFilter {
        id: UuidFilter => Id,
        project_id: UuidFilter => ProjectId,
        task_id: UuidFilter => TaskId,
        sha: StringFilter => Sha,
        branch: StringFilter => Branch,
        author_email: StringFilter => AuthorEmail,
        committed_at: DateTimeFilter => CommittedAt,
    }
    order CommitOrderField / CommitOrderBy { CommittedAt => CommittedAt, CreatedAt => CreatedAt, } default CommittedAt Desc;
    create CreateCommitInput {
        project_id: Uuid,
        task_id: Option<Uuid>,
        /// Hexadecimal, 7 to 64 characters (stored lower-case).
        sha: String,
        message: String,
        author: Option<String>,
        author_email: Option<String>,
        branch: Option<String>,
        #[graphql(default)]
        files_changed: i32,
        #[graphql(default)]
        additions: i32,
        #[graphql(default)]
        deletions: i32,
        /// Now when left out.
        committed_at: Option<DateTimeWithTimeZone> => db_default,
    }
    update UpdateCommitInput {
        task_id: MaybeUndefined<Uuid>,
        message: Option<String>,
        branch: MaybeUndefined<String>,
    }
    roles write Member, delete Manager;
    events parent project_id;
    check create super::check_new_commit;
}

crate::crud! {
    /// Automated code reviews of a commit: scores, issues and suggestions.
    pub mod reviews for reviews as "review";
    filter ReviewFilter {
        id: UuidFilter => Id,
        commit_id: UuidFilter => CommitId,
        reviewer_agent_id: UuidFilter => ReviewerAgentId,
        status: EnumFilter<ReviewStatus> => Status,
        quality_score: IntFilter => QualityScore,
        security_score: IntFilter => SecurityScore,
        created_at: DateTimeFilter => CreatedAt,
    }
    order ReviewOrderField / ReviewOrderBy {
        CreatedAt => CreatedAt, QualityScore => QualityScore, SecurityScore => SecurityScore,
    } default CreatedAt Desc;
    create CreateReviewInput {
        commit_id: Uuid,
        reviewer_agent_id: Option<Uuid>,
        #[graphql(default_with = "ReviewStatus::Pending")]
        status: ReviewStatus,
        summary: Option<String>,
        quality_score: Option<i32>,
        security_score: Option<i32>,
        #[graphql(default_with = "serde_json::json!([])")]
        issues: serde_json::Value,
        #[graphql(default_with = "serde_json::json!([])")]
        suggestions: serde_json::Value,
    }
    update UpdateReviewInput {
        status: Option<ReviewStatus>,
        summary: MaybeUndefined<String>,
        quality_score: MaybeUndefined<i32>,
        security_score: MaybeUndefined<i32>,
        issues: Option<serde_json::Value>,
        suggestions: Option<serde_json::Value>,
    }
    roles write Member, delete Manager;
    events parent commit_id;
}

crate::crud! {
    /// Chunks of a project's code (for semantic search: embeddings are filled in by indexing).
    pub mod code_embeddings for code_embeddings as "code chunk";
    filter CodeChunkFilter {
        id: UuidFilter => Id,
        project_id: UuidFilter => ProjectId,
        file_path: StringFilter => FilePath,
        language: StringFilter => Language,
        file_type: StringFilter => FileType,
        commit_sha: StringFilter => CommitSha,
    }
    order CodeChunkOrderField / CodeChunkOrderBy { FilePath => FilePath, ChunkIndex => ChunkIndex, CreatedAt => CreatedAt, } default FilePath Asc;
    create CreateCodeChunkInput {
        project_id: Uuid,
        file_path: String,
        #[graphql(default)]
        chunk_index: i32,
        content: String,
        language: Option<String>,
        file_type: Option<String>,
        #[graphql(default_with = "serde_json::json!({})")]
        metadata: serde_json::Value,
        commit_sha: Option<String>,
    }
    update UpdateCodeChunkInput {
        content: Option<String>,
        language: MaybeUndefined<String>,
        file_type: MaybeUndefined<String>,
        metadata: Option<serde_json::Value>,
        commit_sha: MaybeUndefined<String>,
    }
    roles write Member, delete Member;
    events parent project_id;
}

async fn check_new_commit(_scope: &Scope, input: &mut commits::Create) -> Result<()> {
    input.sha = input.sha.trim().to_lowercase();
    if input.message.trim().is_empty() {
        return Err(ServiceError::bad_input("message", "message must not be empty"));
    }
    Ok(())
}

/// A source file to index for code search (seed 004's code embeddings).
#[derive(async_graphql::InputObject, Debug)]
pub struct IndexCodeInput {
    pub project_id: Uuid,
    /// Repository-relative path, e.g. `src/main.rs`.
    pub path: String,
    pub content: String,
    /// e.g. `rust`; used by search filters.
    pub language: Option<String>,
    pub commit_sha: Option<String>,
}

/// Replace the file's chunks (60 lines, 10 repeated) in the project's code index; a trigger then
/// queues their vectorisation. Indexing the same content again changes nothing.
pub async fn index_code(scope: &Scope, input: IndexCodeInput) -> Result<Vec<entity::code_embeddings::Model>> {
    use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder};
    scope.require(entity::sea_orm_active_enums::MemberRole::Member, "index code").await?;
    let path = input.path.trim().trim_start_matches('/').to_string();
    if path.is_empty() {
        return Err(ServiceError::bad_input("path", "give the file's path"));
    }
    crate::work::projects::get(scope, input.project_id).await?;
    let chunks = crate::embedding::chunk_lines(&input.content, 60, 10);
    let file_type = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let select = || {
        use entity::code_embeddings::Column as C;
        crate::query::scoped::<entity::code_embeddings::Entity>(scope).map(|s| {
            s.filter(C::ProjectId.eq(input.project_id)).filter(C::FilePath.eq(path.clone())).order_by_asc(C::ChunkIndex)
        })
    };
    let existing = {
        let tx = scope.tx().await?;
        select()?.all(&*tx).await?
    };
    let same = existing.len() == chunks.len()
        && existing.iter().zip(&chunks).all(|(e, c)| &e.content == c && e.language == input.language);
    if same {
        return Ok(existing);
    }
    let rows: Vec<serde_json::Value> =
        chunks.iter().enumerate().map(|(i, c)| serde_json::json!({ "id": Uuid::now_v7(), "i": i, "c": c })).collect();
    {
        let tx = scope.tx().await?;
        tx.execute_raw(crate::query::raw(
            scope,
            "DELETE FROM code_embeddings WHERE tenant_id = $1 AND project_id = $2 AND file_path = $3",
            [input.project_id.into(), path.clone().into()],
        )?)
        .await?;
        tx.execute_raw(crate::query::raw(scope, "INSERT INTO code_embeddings (tenant_id, id, project_id, file_path, chunk_index, content, language, file_type, commit_sha) \
             SELECT $1, r.id, $2, $3, r.i, r.c, $4, $5, $6 FROM jsonb_to_recordset($7::jsonb) AS r(id uuid, i int, c text)", [input.project_id.into(), path.clone().into(), input.language.clone().into(), file_type.into(), input.commit_sha.clone().map(|s| s.to_lowercase()).into(), serde_json::Value::Array(rows).into()])?)
        .await?;
    }
    crate::governance::record(
        scope,
        "code.index",
        "projects",
        input.project_id,
        serde_json::json!({ "path": path, "chunks": chunks.len() }),
    )
    .await?;
    let tx = scope.tx().await?;
    Ok(select()?.all(&*tx).await?)
}
