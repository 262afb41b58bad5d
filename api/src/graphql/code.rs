//! Code (Vibe Coder) in GraphQL: commits, reviews, code chunks.

use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::ReviewStatus;
use service::code::{code_embeddings, commits, reviews};
use uuid::Uuid;

use super::work::{Agent, Project, Task};

object! {
    /// A commit made for a project (and a task).
    Commit from entity::commits::Model {
        id: Uuid,
        project_id: Uuid,
        task_id: Option<Uuid>,
        sha: String,
        message: String,
        author: Option<String>,
        author_email: Option<String>,
        branch: Option<String>,
        files_changed: i32,
        additions: i32,
        deletions: i32,
        committed_at: DateTime<FixedOffset>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Commit {
        many reviews: Review = entity::reviews::Entity["commit_id"] by id;
        one project: Project = entity::projects::Entity[project_id];
        one task: Task = entity::tasks::Entity[task_id];
    }
}

object! {
    /// An automated review of a commit.
    Review from entity::reviews::Model {
        id: Uuid,
        commit_id: Uuid,
        reviewer_agent_id: Option<Uuid>,
        status: ReviewStatus,
        summary: Option<String>,
        /// 0-100.
        quality_score: Option<i32>,
        /// 0-100.
        security_score: Option<i32>,
        issues: serde_json::Value,
        suggestions: serde_json::Value,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Review {
        one commit: Commit = entity::commits::Entity[commit_id];
        one reviewer_agent: Agent = entity::agents::Entity[reviewer_agent_id];
    }
}

object! {
    /// A chunk of a project's code, indexed for semantic search (the embedding is not shown).
    CodeChunk from entity::code_embeddings::Model {
        id: Uuid,
        project_id: Uuid,
        file_path: String,
        chunk_index: i32,
        content: String,
        embedding_model: Option<String>,
        language: Option<String>,
        file_type: Option<String>,
        metadata: serde_json::Value,
        commit_sha: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    CodeChunk {
        one project: Project = entity::projects::Entity[project_id];
    }
}

crud_fields! {
    commits => Commit;
    query CommitQuery { commit, commits }
    mutation CommitMutation { create_commit, update_commit, delete_commit }
}

crud_fields! {
    reviews => Review;
    query ReviewQuery { review, reviews }
    mutation ReviewMutation { create_review, update_review, delete_review }
}

crud_fields! {
    code_embeddings => CodeChunk;
    query CodeChunkQuery { code_chunk, code_chunks }
    mutation CodeChunkMutation { create_code_chunk, update_code_chunk, delete_code_chunk }
}

#[derive(Default)]
pub struct CodeVerbs;

#[async_graphql::Object]
impl CodeVerbs {
    /// Index a source file for code search: its chunks (60 lines, overlapping) replace the file's
    /// earlier ones and are vectorised by an EMBED job; search them with
    /// `similaritySearch(input: { target: CODE, … })` or `hybridSearch(target: CODE, …)`.
    async fn index_code(
        &self,
        ctx: &async_graphql::Context<'_>,
        input: service::code::IndexCodeInput,
    ) -> async_graphql::Result<Vec<CodeChunk>> {
        let rows = service::code::index_code(super::CtxExt::scope(ctx)?, input).await?;
        Ok(rows.into_iter().map(CodeChunk::from).collect())
    }
}
