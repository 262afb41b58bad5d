//! The one error type of the service layer. Each variant is a kind of failure a client can act on,
//! and `code()` is the `extensions.code` the API sends for it.
use sea_orm::{sqlx, DbErr, RuntimeErr};

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Deliberately not `Display`: that keeps async-graphql's blanket `From<impl Display>` away, so
/// `?` in a resolver goes through the conversion below and keeps `extensions.code`.
#[derive(Debug)]
pub enum ServiceError {
    /// No credentials, or credentials we cannot verify: the client must (re)authenticate.
    Unauthenticated(String),
    /// The caller is known but may not do this here: another role or tenant is needed.
    Forbidden(String),
    /// The row does not exist *in the caller's tenant*; another tenant's row is reported the same
    /// way, so ids cannot be probed across tenants.
    NotFound { entity: &'static str, id: String },
    /// The input is wrong in a way the client can fix; `field` names the argument when known.
    BadInput { field: Option<String>, message: String },
    /// The input clashes with existing data (a unique key, a state that forbids the change).
    Conflict { field: Option<String>, message: String },
    /// A backing service (the database, the object store, a model provider) did not answer; worth
    /// retrying later (HTTP 503 with `Retry-After`).
    Unavailable(String),
    /// Anything else: logged with the request id, sent to the client as a bare "internal error".
    Internal(String),
}

impl ServiceError {
    /// What the client is told.
    pub fn message(&self) -> String {
        match self {
            Self::Unauthenticated(m) | Self::Forbidden(m) | Self::Unavailable(m) => m.clone(),
            Self::NotFound { entity, id } => format!("{entity} {id} was not found"),
            Self::BadInput { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::Internal(_) => "internal error".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::Conflict { .. } => "CONFLICT",
            Self::Unavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadInput { field, .. } | Self::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { field: Some(field.into()), message: message.into() }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound { entity, id: id.to_string() }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }
}

/// Named constraints a client can trip, with the field and the message that tell how to fix it.
/// Constraints not listed still map by kind (unique → CONFLICT, foreign key and check → BAD_USER_INPUT).
const CONSTRAINTS: &[(&str, &str, &str)] = &[
    ("tenants_slug_key", "slug", "a tenant with this slug already exists"),
    (
        "tenants_slug_format",
        "slug",
        "slug must be 2-63 characters of a-z, 0-9 and '-', starting with a letter or digit",
    ),
    ("tenants_name_length", "name", "name must be 1-200 characters"),
    ("users_email_key", "email", "a user with this email already exists"),
    ("users_github_id_key", "githubId", "a user with this GitHub id already exists"),
    ("tenant_members_tenant_user_key", "userId", "this user is already a member of the tenant"),
    ("invitations_role_not_pending", "role", "an invitation cannot grant the pending role"),
    ("projects_tenant_name_key", "name", "a project with this name already exists in the tenant"),
    ("projects_name_length", "name", "name must be 1-200 characters"),
    ("tasks_title_length", "title", "title must be 1-500 characters"),
    ("tasks_project_fkey", "projectId", "no such project in this tenant"),
    ("tasks_parent_fkey", "parentId", "no such parent task in this tenant"),
    ("tasks_not_own_parent", "parentId", "a task cannot be its own parent"),
    ("tasks_project_or_space", "spaceId", "a task is in a project or in a space, not both"),
    ("tasks_parent_same_space", "parentId", "a subtask must be in its parent's space"),
    ("agents_tenant_name_key", "name", "an agent with this name already exists in the tenant"),
    ("agents_not_own_manager", "reportsTo", "an agent cannot report to itself"),
    ("workflows_tenant_name_key", "name", "a workflow with this name already exists in the tenant"),
    ("jobs_type_format", "jobType", "jobType must be upper-case letters, digits and '_', e.g. EMAIL_SEND"),
    ("jobs_progress_range", "progress", "progress must be between 0 and 1"),
    ("data_records_duplicate_key", "content", "this project already has a record of this type with the same content"),
    ("likert_scores_record_user_key", "recordId", "this rater has already scored this record"),
    ("likert_scores_realism_range", "realismScore", "realismScore must be between 1 and 7"),
    ("likert_scores_quality_range", "qualityScore", "qualityScore must be between 1 and 7"),
    ("bonus_windows_time_order", "endTime", "endTime must be after startTime"),
    ("commits_sha_format", "sha", "sha must be 7-64 hexadecimal characters"),
    ("commits_project_sha_key", "sha", "this commit is already recorded for the project"),
    ("reviews_quality_range", "qualityScore", "qualityScore must be between 0 and 100"),
    ("reviews_security_range", "securityScore", "securityScore must be between 0 and 100"),
    ("decision_memos_risk_tier_nonnegative", "riskTier", "riskTier must be 0 (low) or more"),
    ("decision_memos_cost_nonnegative", "estimatedCostUsd", "estimatedCostUsd must not be negative"),
    ("intents_type_format", "intentType", "intentType must be upper-case letters, digits and '_', e.g. ENGINE_RUN"),
    ("approvals_one_subject", "memoId", "an approval is of exactly one intent or one memo"),
    ("integrations_tenant_provider_key", "provider", "this tenant already has an integration with this provider"),
    ("integrations_provider_format", "provider", "provider must be lower-case, e.g. slack"),
    (
        "ledger_entries_amount_nonnegative",
        "amountCents",
        "amountCents must not be negative; use entryType for direction",
    ),
    ("ledger_entries_currency_format", "currency", "currency must be an ISO 4217 code such as USD"),
    ("budgets_tenant_name_key", "name", "a budget with this name already exists"),
    ("spaces_transfer_to_member", "transferTo", "spaces can only go to another member of this tenant"),
    ("kb_documents_tenant_slug_key", "slug", "a document with this slug already exists in the tenant"),
    ("kb_documents_slug_format", "slug", "slug must be a-z, 0-9 and '-', starting with a letter or digit"),
    ("kb_tags_tenant_name_key", "name", "a tag with this name already exists"),
    ("kb_document_tags_pair_key", "tagId", "the document already has this tag"),
    ("spaces_owner_slug_key", "slug", "a space with this slug already exists for this owner"),
    ("spaces_slug_format", "slug", "slug must be a-z, 0-9 and '-', starting with a letter or digit"),
    ("space_members_space_user_key", "userId", "this user is already a member of the space"),
    ("folders_sibling_name_key", "name", "a folder with this name already exists here"),
    ("folders_name_format", "name", "a folder name is 1-255 characters without '/'"),
    ("folders_no_cycle", "parentId", "a folder cannot move into itself or one of its subfolders"),
    ("folders_parent_same_space", "parentId", "a folder's parent must be in the same space"),
    ("folders_parent_fkey", "parentId", "no such parent folder in this tenant"),
    ("files_folder_fkey", "folderId", "no such folder in this tenant"),
    ("files_space_fkey", "spaceId", "no such space in this tenant"),
    ("projects_guidelines_file_fkey", "guidelinesFileId", "no such file in this tenant"),
    ("kb_documents_source_file_fkey", "sourceFileId", "no such file in this tenant"),
    ("files_folder_name_key", "name", "a file with this name already exists here; upload a new version instead"),
    ("files_name_format", "name", "a file name is 1-255 characters without '/'"),
    ("file_versions_file_version_key", "version", "this version of the file already exists"),
    ("file_permissions_one_grantee", "granteeUserId", "grant to exactly one user or one space"),
    ("messages_parts_array", "parts", "parts must be a list"),
    ("crm_companies_tenant_name_key", "name", "a company with this name already exists"),
    ("crm_contacts_has_name", "firstName", "a contact needs a first name, a last name or an email"),
    ("crm_segments_tenant_name_key", "name", "a segment with this name already exists"),
    ("crm_segment_members_pair_key", "contactId", "the contact is already in the segment"),
    ("system_settings_key_format", "key", "a setting key is lower-case letters, digits, '_' and '.'"),
    ("code_embeddings_chunk_key", "chunkIndex", "this chunk of the file is already indexed"),
    ("users_email_lower", "email", "an email is lower-case and looks like name@domain"),
    ("invitations_email_lower", "email", "an email is lower-case and looks like name@domain"),
    ("invitations_token_hash_key", "token", "this invitation token is already in use"),
    ("agents_name_length", "name", "name must be 1-200 characters"),
    ("executions_tokens_nonnegative", "tokensUsed", "tokensUsed must not be negative"),
    ("executions_duration_nonnegative", "durationMs", "durationMs must not be negative"),
    ("executions_cost_nonnegative", "costUsd", "costUsd must not be negative"),
    ("jobs_max_retries_range", "maxRetries", "maxRetries must be between 0 and 100"),
    ("job_results_attempt_positive", "attempt", "attempt must be 1 or more"),
    ("task_output_task_seq_key", "seq", "this task already has output with this sequence number"),
    ("workflows_name_length", "name", "name must be 1-200 characters"),
    ("ingest_jobs_counts_nonnegative", "totalRecords", "record counts must not be negative"),
    ("data_records_content_nonempty", "content", "content must not be empty"),
    ("bonus_windows_targets_nonnegative", "targetTaskCount", "targets must not be negative (0 switches a target off)"),
    ("commits_counts_nonnegative", "filesChanged", "filesChanged, additions and deletions must not be negative"),
    ("code_embeddings_chunk_nonnegative", "chunkIndex", "chunkIndex must not be negative"),
    ("code_embeddings_path_nonempty", "filePath", "filePath must not be empty"),
    ("spaces_name_length", "name", "name must be 1-200 characters"),
    ("kb_documents_title_length", "title", "title must be 1-500 characters"),
    ("kb_chunks_index_nonnegative", "chunkIndex", "chunkIndex must not be negative"),
    ("kb_chunks_document_index_key", "chunkIndex", "this chunk of the document already exists"),
    ("kb_tags_name_length", "name", "name must be 1-100 characters"),
    ("notes_title_length", "title", "title must be 1-500 characters"),
    ("folders_not_own_parent", "parentId", "a folder cannot be its own parent"),
    ("files_size_nonnegative", "size", "size must not be negative"),
    ("files_sha256_format", "sha256", "sha256 must be 64 lower-case hexadecimal characters"),
    ("file_versions_version_positive", "version", "version must be 1 or more"),
    ("file_chunks_file_index_key", "chunkIndex", "this chunk of the file already exists"),
    ("messages_chat_seq_key", "seq", "this chat already has a message with this sequence number"),
    ("decision_memos_title_length", "title", "title must be 1-500 characters"),
    ("crm_companies_name_length", "name", "name must be 1-300 characters"),
    ("crm_segments_name_length", "name", "name must be 1-200 characters"),
    ("budgets_name_length", "name", "name must be 1-200 characters"),
    ("budgets_limit_nonnegative", "limitCents", "limitCents must not be negative"),
    ("budgets_currency_format", "currency", "currency must be an ISO 4217 code such as USD"),
    ("assets_name_length", "name", "name must be 1-300 characters"),
    ("tickets_title_length", "title", "title must be 1-500 characters"),
    ("ticket_comments_body_nonempty", "body", "body must not be empty"),
    ("suggestions_title_length", "title", "title must be 1-500 characters"),
    ("system_settings_scope_key", "key", "this setting already exists here"),
    ("system_settings_secret_shape", "value", "a secret setting keeps its value in secretValue, any other in value"),
    // Written by operators only; listed so that a wrong write says what is wrong.
    ("global_settings_key_format", "key", "a setting key is lower-case letters, digits, '_' and '.'"),
    ("global_settings_secret_shape", "value", "a secret setting keeps its value in secretValue, any other in value"),
];

/// The names of the constraints that have a message of their own: a catalogue test checks that
/// every check and unique constraint of the schema is among them, so none can answer a client with
/// PostgreSQL's own text.
pub fn constraints_with_messages() -> impl Iterator<Item = &'static str> {
    CONSTRAINTS.iter().map(|(name, _, _)| *name)
}

/// What a client hears while the database is away (restarting, failing over, unreachable).
fn database_away(detail: &dyn std::fmt::Display) -> ServiceError {
    tracing::warn!(error = %detail, "the database is not reachable");
    ServiceError::Unavailable("the database is not reachable right now; retry shortly".into())
}

/// Whether an sqlx error means the database (or the way to it) is away, not that a statement is
/// wrong: no connection, a dropped one, a server shutting down or refusing connections.
fn is_outage(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
        sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // 08: connection exception; 57P01-57P03: shutting down or starting; 53300: no slots.
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) => return database_away(&err),
            DbErr::Conn(RuntimeErr::SqlxError(e))
            | DbErr::Query(RuntimeErr::SqlxError(e))
            | DbErr::Exec(RuntimeErr::SqlxError(e))
                if is_outage(e) =>
            {
                return database_away(e)
            }
            DbErr::Conn(_) => return database_away(&err),
            _ => {}
        }
        if let DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) = &err {
            if let Some(mapped) = from_sqlx(e) {
                return mapped;
            }
        }
        if let DbErr::RecordNotFound(what) = &err {
            return Self::NotFound { entity: "record", id: what.clone() };
        }
        Self::Internal(err.to_string())
    }
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        if is_outage(&err) {
            return database_away(&err);
        }
        from_sqlx(&err).unwrap_or_else(|| Self::Internal(err.to_string()))
    }
}

fn from_sqlx(err: &sqlx::Error) -> Option<ServiceError> {
    let db = err.as_database_error()?;
    let code = db.code()?;
    let constraint = db.constraint();
    let known = constraint.and_then(|c| CONSTRAINTS.iter().find(|(name, _, _)| *name == c));
    let field = known.map(|(_, f, _)| f.to_string());
    let message = |fallback: &str| known.map(|(_, _, m)| m.to_string()).unwrap_or_else(|| fallback.to_string());
    // PostgreSQL's own texts stay in the log: they name tables, types and internal values.
    let fallback = |text: &str| {
        if known.is_none() {
            tracing::info!(code = %code, constraint = ?constraint, detail = %db.message(), "database refused a value");
        }
        message(text)
    };
    Some(match code.as_ref() {
        "23505" => ServiceError::Conflict { field, message: fallback("this value is already taken") },
        "23503" => {
            ServiceError::BadInput { field, message: fallback("a referenced row does not exist in this tenant") }
        }
        "23514" => ServiceError::BadInput { field, message: fallback("a value breaks a rule of this type's fields") },
        "23502" => ServiceError::BadInput { field, message: fallback("a required field is missing") },
        "22P02" => ServiceError::BadInput { field, message: fallback("a value is not in the format its field takes") },
        "22001" => ServiceError::BadInput { field, message: fallback("a value is longer than its field allows") },
        "22003" => ServiceError::BadInput { field, message: fallback("a number is out of its field's range") },
        "22007" | "22008" => ServiceError::BadInput { field, message: fallback("a date or time is not valid") },
        // Row-level security refused the write: the row belongs to another tenant, or (files)
        // the caller may see it but not change it.
        "42501" => ServiceError::Forbidden("you may not change this here".into()),
        // Atlas's own refusals, raised by its triggers and functions with a message written for
        // the client (a folder holding others' files, a move into a space one may not write).
        "AT403" => ServiceError::Forbidden(db.message().to_string()),
        "AT409" => ServiceError::Conflict { field: None, message: db.message().to_string() },
        "AT401" => ServiceError::Unauthenticated(db.message().to_string()),
        _ => return None,
    })
}

/// Map "no row" to NOT_FOUND for a named entity, so call sites read `find(..).await?.found("task", id)?`.
pub trait OptionExt<T> {
    fn found(self, entity: &'static str, id: impl ToString) -> Result<T>;
}

impl<T> OptionExt<T> for Option<T> {
    fn found(self, entity: &'static str, id: impl ToString) -> Result<T> {
        self.ok_or_else(|| ServiceError::not_found(entity, id))
    }
}

/// GraphQL errors carry `extensions.code` (and `field` where known). Internal details are logged
/// here and replaced by a bare message; the API adds the request id.
impl From<ServiceError> for async_graphql::Error {
    fn from(err: ServiceError) -> Self {
        if let ServiceError::Internal(detail) = &err {
            tracing::error!(error = %detail, "internal error");
        }
        let code = err.code();
        let field = err.field().map(str::to_string);
        async_graphql::ErrorExtensions::extend_with(async_graphql::Error::new(err.message()), |_, ext| {
            ext.set("code", code);
            if let Some(field) = field {
                ext.set("field", field);
            }
        })
    }
}
