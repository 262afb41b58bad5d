//! Files (metadata): folders as a virtual tree, files with versions, visibility and grants, and
//! file text chunks. The bytes and visibility enforcement come with the object store.
use std::sync::Arc;

use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::{FilePermission, FileVisibility, MemberRole};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::error::{Result, ServiceError};
use crate::events::ChangeOp;
use crate::scope::Scope;
use crate::storage::Storage;

use crate::filter::{EnumFilter, IntFilter, StringFilter, UuidFilter};

crate::crud! {
    /// Folders: a virtual tree inside a space.
    pub mod folders for folders as "folder";
    filter FolderFilter {
        id: UuidFilter => Id,
        space_id: UuidFilter => SpaceId,
        parent_id: UuidFilter => ParentId,
        name: StringFilter => Name,
        path: StringFilter => Path,
    }
    order FolderOrderField / FolderOrderBy { Name => Name, Path => Path, CreatedAt => CreatedAt, } default Path Asc;
    create CreateFolderInput {
        space_id: Uuid,
        parent_id: Option<Uuid>,
        name: String,
    }
    update UpdateFolderInput {
        name: Option<String>,
        /// Move the folder (null: to the top of its space); its subtree's paths follow.
        parent_id: MaybeUndefined<Uuid>,
    }
    roles write Member, delete Member;
    events parent space_id;
}

crate::crud! {
    /// Files: metadata of an object in the store.
    pub mod files for files as "file";
    filter FileFilter {
        id: UuidFilter => Id,
        space_id: UuidFilter => SpaceId,
        folder_id: UuidFilter => FolderId,
        owner_id: UuidFilter => OwnerId,
        name: StringFilter => Name,
        content_type: StringFilter => ContentType,
        visibility: EnumFilter<FileVisibility> => Visibility,
        size: IntFilter => Size,
    }
    order FileOrderField / FileOrderBy { Name => Name, Size => Size, CreatedAt => CreatedAt, UpdatedAt => UpdatedAt, } default Name Asc;
    create CreateFileInput {
        space_id: Option<Uuid>,
        folder_id: Option<Uuid>,
        name: String,
        #[graphql(default_with = "String::from(\"application/octet-stream\")")]
        content_type: String,
        #[graphql(default_with = "FileVisibility::Private")]
        visibility: FileVisibility,
    }
    update UpdateFileInput {
        name: Option<String>,
        folder_id: MaybeUndefined<Uuid>,
        visibility: Option<FileVisibility>,
    }
    roles write Member, delete Member;
    events none;
    stamp super::stamp_file;
}

crate::crud! {
    /// Versions of a file's content.
    pub mod file_versions for file_versions as "file version";
    filter FileVersionFilter {
        file_id: UuidFilter => FileId,
        version: IntFilter => Version,
    }
    order FileVersionOrderField / FileVersionOrderBy { Version => Version, CreatedAt => CreatedAt, } default Version Desc;
    create CreateFileVersionInput {
        file_id: Uuid,
        version: i32,
        #[graphql(default_with = "String::from(\"application/octet-stream\")")]
        content_type: String,
        #[graphql(default)]
        size: i64,
        sha256: Option<String>,
    }
    update UpdateFileVersionInput {
        content_type: Option<String>,
    }
    roles write Member, delete Manager;
    events parent file_id;
}

crate::crud! {
    /// Explicit grants on a file, to a user or to a space's members.
    pub mod file_permissions for file_permissions as "file permission";
    filter FileGrantFilter {
        file_id: UuidFilter => FileId,
        grantee_user_id: UuidFilter => GranteeUserId,
        grantee_space_id: UuidFilter => GranteeSpaceId,
        permission: EnumFilter<FilePermission> => Permission,
    }
    order FileGrantOrderField / FileGrantOrderBy { CreatedAt => CreatedAt, } default CreatedAt Asc;
    create GrantFileInput {
        file_id: Uuid,
        grantee_user_id: Option<Uuid>,
        grantee_space_id: Option<Uuid>,
        #[graphql(default_with = "FilePermission::Read")]
        permission: FilePermission,
    }
    update UpdateFileGrantInput {
        permission: Option<FilePermission>,
    }
    roles write Member, delete Member;
    events parent file_id;
}

crate::crud! {
    /// Text chunks of a file (for search).
    pub mod file_chunks for file_chunks as "file chunk";
    filter FileChunkFilter {
        file_id: UuidFilter => FileId,
        content: StringFilter => Content,
    }
    order FileChunkOrderField / FileChunkOrderBy { ChunkIndex => ChunkIndex, } default ChunkIndex Asc;
    create CreateFileChunkInput {
        file_id: Uuid,
        #[graphql(default)]
        chunk_index: i32,
        content: String,
    }
    update UpdateFileChunkInput {
        content: Option<String>,
    }
    roles write Member, delete Member;
    events parent file_id;
}

/// The uploader owns the file.
async fn stamp_file(scope: &crate::Scope, model: &mut entity::files::ActiveModel) -> crate::Result<()> {
    model.owner_id = sea_orm::ActiveValue::Set(scope.user_id()?);
    Ok(())
}

/// Where and how an upload is filed.
pub struct UploadInput {
    pub space_id: Option<Uuid>,
    pub folder_id: Option<Uuid>,
    pub name: String,
    /// What the client said the type is; checked against the bytes.
    pub content_type: Option<String>,
    pub visibility: FileVisibility,
}

/// Store an upload and file it: a new file, or a new version when the folder already holds a file
/// of that name. The bytes are written first and the row after, in the caller's transaction; if
/// that transaction does not commit, the object is removed again, so neither side is orphaned.
pub async fn upload<R: tokio::io::AsyncRead + Unpin>(
    scope: &Scope,
    storage: &Arc<Storage>,
    input: UploadInput,
    reader: R,
    limit: u64,
) -> Result<entity::files::Model> {
    scope.require(MemberRole::Member, "upload files").await?;
    let tenant = scope.tenant_id()?;
    let user = scope.user_id()?;
    let name = input.name.trim().to_string();
    if name.is_empty() || name.len() > 255 || name.contains('/') {
        return Err(ServiceError::bad_input("name", "a file name is 1-255 characters without '/'"));
    }
    // A file of that name owned by someone else takes a new version only from those who may write it.
    if let Some(existing) = find_by_name(scope, input.space_id, input.folder_id, &name).await? {
        if !can_write(scope, &existing).await? {
            return Err(ServiceError::Forbidden(format!(
                "a file named {name:?} already exists here and you may not write to it"
            )));
        }
    }
    let key = Storage::new_key(tenant);
    let stored = storage.put_stream(tenant, &key, reader, limit).await?;
    let undo = {
        let (storage, key) = (storage.clone(), key.clone());
        move || -> crate::scope::Undo {
            Box::pin(async move {
                if let Err(e) = storage.delete(tenant, &key).await {
                    tracing::warn!(key, error = ?e, "could not remove an object whose row was not written");
                }
            })
        }
    };
    let content_type = match crate::storage::content_type(input.content_type.as_deref(), &name, &stored.head) {
        Ok(t) => t,
        Err(e) => {
            undo().await;
            return Err(e);
        }
    };
    scope.on_rollback(undo());
    let file = {
        let tx = scope.tx().await?;
        let row = tx
            .query_one_raw(crate::query::raw(
                scope,
                "INSERT INTO files (tenant_id, id, space_id, folder_id, owner_id, name, content_type, size, sha256, \
                   storage_key, visibility, current_version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::file_visibility, 1) \
                 ON CONFLICT ON CONSTRAINT files_folder_name_key DO UPDATE SET content_type = EXCLUDED.content_type, \
                   size = EXCLUDED.size, sha256 = EXCLUDED.sha256, storage_key = EXCLUDED.storage_key, \
                   current_version = files.current_version + 1 \
                 RETURNING *",
                [
                    Uuid::now_v7().into(),
                    input.space_id.into(),
                    input.folder_id.into(),
                    user.into(),
                    name.clone().into(),
                    content_type.clone().into(),
                    stored.size.into(),
                    stored.sha256.clone().into(),
                    key.clone().into(),
                    visibility_name(input.visibility).into(),
                ],
            )?)
            .await?
            .ok_or_else(|| ServiceError::internal("the file row was not returned"))?;
        let file = entity::files::Model::from_query_result(&row, "")?;
        tx.execute_raw(crate::query::raw(scope, "INSERT INTO file_versions (tenant_id, id, file_id, version, content_type, size, sha256, storage_key, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", [Uuid::now_v7().into(), file.id.into(), file.current_version.into(), content_type.into(), stored.size.into(), stored.sha256.into(), key.into(), user.into()])?)
        .await?;
        file
    };
    chunk_text_file(scope, storage, &file).await?;
    let op = if file.current_version == 1 { ChangeOp::Created } else { ChangeOp::Updated };
    crate::events::notify(scope, "files", file.id, op, file.space_id).await?;
    crate::governance::record(
        scope,
        "file.upload",
        "files",
        file.id,
        serde_json::json!({ "version": file.current_version, "size": file.size, "sha256": file.sha256 }),
    )
    .await?;
    Ok(file)
}

async fn find_by_name(
    scope: &Scope,
    space: Option<Uuid>,
    folder: Option<Uuid>,
    name: &str,
) -> Result<Option<entity::files::Model>> {
    use entity::files::Column;
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut select = crate::query::scoped::<entity::files::Entity>(scope)?.filter(Column::Name.eq(name));
    select = match space {
        Some(s) => select.filter(Column::SpaceId.eq(s)),
        None => select.filter(Column::SpaceId.is_null()),
    };
    select = match folder {
        Some(f) => select.filter(Column::FolderId.eq(f)),
        None => select.filter(Column::FolderId.is_null()),
    };
    let tx = scope.tx().await?;
    Ok(select.one(&*tx).await?)
}

/// Whether the caller may write `file`: the database's own rule (owner, tenant owners and admins,
/// write grants), the same one its row-level security applies.
pub async fn can_write(scope: &Scope, file: &entity::files::Model) -> Result<bool> {
    crate::query::scalar(scope, "SELECT atlas_file_writable($1, $2)", [file.id.into()]).await
}

fn visibility_name(v: FileVisibility) -> &'static str {
    match v {
        FileVisibility::Private => "private",
        FileVisibility::Space => "space",
        FileVisibility::Organization => "organization",
        FileVisibility::Public => "public",
    }
}

/// A file the caller may read. Row-level security decides: a file the caller may not see is
/// reported as not found, like another tenant's.
pub async fn readable(scope: &Scope, id: Uuid) -> Result<entity::files::Model> {
    files::get(scope, id).await
}

/// What a signed download link grants: one version of one tenant's file, until `e`. It names no
/// object key: the download looks the version up (so a deleted file or version revokes its links)
/// and reads the key from that row.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct DownloadClaims {
    /// Tenant.
    pub t: Uuid,
    /// File version.
    pub v: Uuid,
    /// Expiry, Unix seconds.
    pub e: i64,
}

/// How long a download link lasts unless asked otherwise, and the longest it may.
pub const LINK_DEFAULT_SECS: i32 = 15 * 60;
pub const LINK_MAX_SECS: i32 = 24 * 3600;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn mac(secret: &str) -> HmacSha256 {
    use hmac::Mac;
    // A key of its own, derived from the server secret, so download links sign nothing else.
    let key = <sha2::Sha256 as sha2::Digest>::digest(format!("atlas-download-url\0{secret}").as_bytes());
    HmacSha256::new_from_slice(&key).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// `payload.signature`, both base64url.
pub fn sign_download(secret: &str, claims: &DownloadClaims) -> String {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let mut m = mac(secret);
    m.update(payload.as_bytes());
    format!("{payload}.{}", b64.encode(m.finalize().into_bytes()))
}

/// The claims of a genuine, unexpired token.
pub fn verify_download(secret: &str, token: &str, now: i64) -> Result<DownloadClaims> {
    use base64::Engine;
    use hmac::Mac;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let refused = |why: &str| ServiceError::Forbidden(format!("this download link is {why}"));
    let (payload, sig) = token.split_once('.').ok_or_else(|| refused("malformed"))?;
    let sig = b64.decode(sig).map_err(|_| refused("malformed"))?;
    let mut m = mac(secret);
    m.update(payload.as_bytes());
    m.verify_slice(&sig).map_err(|_| refused("not genuine"))?;
    let claims: DownloadClaims = serde_json::from_slice(&b64.decode(payload).map_err(|_| refused("malformed"))?)
        .map_err(|_| refused("malformed"))?;
    if claims.e < now {
        return Err(refused("expired"));
    }
    Ok(claims)
}

/// What a download serves: the version's object, under its file's name.
pub struct Download {
    pub key: String,
    pub name: String,
    pub content_type: String,
}

/// The object a genuine link names, looked up in the link's tenant; NOT_FOUND once the file or
/// version is gone. The download is audited, in a transaction of its own.
pub async fn resolve_download(db: &sea_orm::DatabaseConnection, claims: &DownloadClaims) -> Result<Download> {
    let scope = crate::queue::system_scope(db, claims.t);
    let row = {
        let tx = scope.tx().await?;
        tx.query_one_raw(crate::query::raw(
            &scope,
            "SELECT v.storage_key, v.content_type, f.name, f.id AS file_id FROM file_versions v \
             JOIN files f ON f.tenant_id = v.tenant_id AND f.id = v.file_id \
             WHERE v.tenant_id = $1 AND v.id = $2",
            [claims.v.into()],
        )?)
        .await?
    };
    let Some(row) = row else {
        scope.finish(false).await?;
        return Err(ServiceError::not_found("file", claims.v));
    };
    let key: Option<String> = row.try_get("", "storage_key")?;
    let file_id: Uuid = row.try_get("", "file_id")?;
    let download = Download {
        key: key.ok_or_else(|| ServiceError::not_found("file", claims.v))?,
        name: row.try_get("", "name")?,
        content_type: row.try_get("", "content_type")?,
    };
    crate::governance::record(&scope, "file.download", "files", file_id, serde_json::json!({ "version": claims.v }))
        .await?;
    scope.finish(true).await?;
    Ok(download)
}

/// A link that downloads `version` (the current one when None) of a file the caller can read,
/// for `expires_in` seconds (1 to 24 hours; 15 minutes by default): the store's own presigned URL
/// (S3), or Atlas's `/files/{token}` route (local store). Issuing it is audited.
pub async fn download_url(
    scope: &Scope,
    storage: &Storage,
    secret: &str,
    public_url: &str,
    file_id: Uuid,
    version: Option<Uuid>,
    expires_in: i32,
) -> Result<String> {
    if !(1..=LINK_MAX_SECS).contains(&expires_in) {
        return Err(ServiceError::bad_input("expiresIn", format!("expiresIn is 1 to {LINK_MAX_SECS} seconds")));
    }
    // Reading the file through row-level security is the permission check.
    let file = files::get(scope, file_id).await?;
    let row = {
        let tx = scope.tx().await?;
        tx.query_one_raw(crate::query::raw(
            scope,
            "SELECT id, storage_key FROM file_versions WHERE tenant_id = $1 AND file_id = $2 \
             AND CASE WHEN $3::uuid IS NULL THEN version = $4 ELSE id = $3 END",
            [file.id.into(), version.into(), file.current_version.into()],
        )?)
        .await?
    };
    let no_content = || ServiceError::not_found("stored content of file", file.id);
    let row = row.ok_or_else(no_content)?;
    let version_id: Uuid = row.try_get("", "id")?;
    let key: String = row.try_get::<Option<String>>("", "storage_key")?.ok_or_else(no_content)?;
    crate::governance::record(
        scope,
        "file.link",
        "files",
        file.id,
        serde_json::json!({ "version": version_id, "expiresIn": expires_in }),
    )
    .await?;
    let expires = std::time::Duration::from_secs(expires_in as u64);
    if let Some(url) = storage.presigned_url(file.tenant_id, &key, expires).await? {
        return Ok(url);
    }
    let claims =
        DownloadClaims { t: file.tenant_id, v: version_id, e: chrono::Utc::now().timestamp() + expires_in as i64 };
    Ok(format!("{}/files/{}", public_url.trim_end_matches('/'), sign_download(secret, &claims)))
}

/// The youngest an unreferenced object may be and still be swept: an upload writes its object
/// before its row commits, and a long upload's row may commit this long after.
pub const GC_MIN_AGE_FLOOR_S: i64 = 3600;

fn gc_input(input: &serde_json::Value) -> Result<serde_json::Value> {
    let map = crate::queue::object_with(input, &["min_age_s"])?;
    if let Some(age) = map.get("min_age_s") {
        if age.as_i64().is_none_or(|a| a < GC_MIN_AGE_FLOOR_S) {
            return Err(ServiceError::bad_input(
                "input.min_age_s",
                format!("min_age_s is a whole number of seconds, at least {GC_MIN_AGE_FLOOR_S}"),
            ));
        }
    }
    Ok(serde_json::Value::Object(map))
}

/// STORAGE_GC: queued by a trigger when versions are deleted; admins may also run a sweep.
pub static GC_JOB: crate::queue::JobType = crate::queue::JobType {
    name: "STORAGE_GC",
    description: "Removes the stored objects of deleted file versions, and unreferenced objects older than \
                  `input.min_age_s` (at least 3600). Admins and owners.",
    enqueue: crate::queue::Enqueue::Client { role: MemberRole::Admin, check: gc_input },
    development_only: false,
};

/// STORAGE_GC: removes from the store the objects of deleted versions (queued by a trigger), and
/// objects no version refers to that are older than `min_age_s` (leftovers of a crash between
/// writing an object and committing its row), never younger than `GC_MIN_AGE_FLOOR_S`.
pub struct StorageGc {
    pub storage: Arc<Storage>,
}

impl crate::queue::JobHandler for StorageGc {
    fn job_type(&self) -> &'static str {
        GC_JOB.name
    }

    async fn run(
        &self,
        ctx: &crate::queue::JobContext,
    ) -> std::result::Result<serde_json::Value, crate::queue::JobError> {
        let scope = &ctx.scope;
        let tenant = scope.tenant_id()?;
        let mut removed = 0;
        loop {
            let rows = {
                let tx = scope.tx().await?;
                tx.query_all_raw(crate::query::raw(
                    scope,
                    "SELECT id, storage_key FROM storage_garbage WHERE tenant_id = $1 ORDER BY created_at LIMIT 100",
                    [],
                )?)
                .await?
            };
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let id: Uuid = r.try_get("", "id").map_err(ServiceError::from)?;
                let key: String = r.try_get("", "storage_key").map_err(ServiceError::from)?;
                // A key still used by another version (never, as keys are fresh) is kept.
                if !referenced(scope, &key).await? {
                    self.storage.delete(tenant, &key).await?;
                    removed += 1;
                }
                let tx = scope.tx().await?;
                tx.execute_raw(crate::query::raw(
                    scope,
                    "DELETE FROM storage_garbage WHERE tenant_id = $1 AND id = $2",
                    [id.into()],
                )?)
                .await?;
            }
            scope.finish(true).await?;
        }
        // Whatever the input says (it may predate the enqueue check), never below the floor.
        let min_age = ctx
            .job
            .input
            .get("min_age_s")
            .and_then(|v| v.as_i64())
            .unwrap_or(GC_MIN_AGE_FLOOR_S)
            .max(GC_MIN_AGE_FLOOR_S);
        let cutoff = chrono::Utc::now() - chrono::Duration::seconds(min_age);
        let mut orphans = 0;
        for (key, modified) in self.storage.list(tenant, "objects/").await? {
            if modified < cutoff && !referenced(scope, &key).await? {
                self.storage.delete(tenant, &key).await?;
                orphans += 1;
            }
        }
        Ok(serde_json::json!({ "removed": removed, "orphans": orphans }))
    }
}

async fn referenced(scope: &Scope, key: &str) -> Result<bool> {
    let tx = scope.tx().await?;
    let row = tx
        .query_one_raw(crate::query::raw(
            scope,
            "SELECT 1 FROM file_versions WHERE tenant_id = $1 AND storage_key = $2 \
             UNION ALL SELECT 1 FROM files WHERE tenant_id = $1 AND storage_key = $2 LIMIT 1",
            [key.into()],
        )?)
        .await?;
    Ok(row.is_some())
}

/// Text-like files up to this size are chunked for search when uploaded.
const MAX_TEXT_FILE_BYTES: i64 = 5 << 20;

fn text_like(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(content_type, "application/json" | "application/xml" | "application/yaml")
}

/// A text file's content as its search chunks (replacing those of an earlier version); a trigger
/// queues their vectorisation. Other files, and text that is not UTF-8, get no chunks.
async fn chunk_text_file(scope: &Scope, storage: &Storage, file: &entity::files::Model) -> Result<()> {
    use futures_util::TryStreamExt;
    let (Some(key), true) = (&file.storage_key, text_like(&file.content_type) && file.size <= MAX_TEXT_FILE_BYTES)
    else {
        return Ok(());
    };
    let bytes: Vec<u8> = storage
        .stream(file.tenant_id, key)
        .await?
        .try_fold(Vec::new(), |mut acc, b| async move {
            acc.extend_from_slice(&b);
            Ok(acc)
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not read a file back from the store");
            ServiceError::Unavailable("could not read the file back from the store; try again later".into())
        })?;
    let chunks = match std::str::from_utf8(&bytes) {
        Ok(text) => crate::embedding::chunk_text(&text.replace('\0', ""), 1200, 200),
        Err(_) => vec![],
    };
    let rows: Vec<serde_json::Value> =
        chunks.iter().enumerate().map(|(i, c)| serde_json::json!({ "id": Uuid::now_v7(), "i": i, "c": c })).collect();
    let tx = scope.tx().await?;
    tx.execute_raw(crate::query::raw(
        scope,
        "DELETE FROM file_chunks WHERE tenant_id = $1 AND file_id = $2",
        [file.id.into()],
    )?)
    .await?;
    if !rows.is_empty() {
        tx.execute_raw(crate::query::raw(scope, "INSERT INTO file_chunks (tenant_id, id, file_id, chunk_index, content)              SELECT $1, r.id, $2, r.i, r.c FROM jsonb_to_recordset($3::jsonb) AS r(id uuid, i int, c text)", [file.id.into(), serde_json::Value::Array(rows).into()])?)
        .await?;
    }
    Ok(())
}
