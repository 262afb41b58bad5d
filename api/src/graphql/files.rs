//! Files in GraphQL (metadata): folders, files, versions, grants, chunks.
use async_graphql::{Context, ErrorExtensions, Object, Result};
use chrono::{DateTime, FixedOffset};
use entity::sea_orm_active_enums::{FilePermission, FileVisibility};
use service::files::{file_chunks, file_permissions, file_versions, files, folders};
use uuid::Uuid;

use super::tenancy::{Space, User};
use super::CtxExt;

object! {
    /// A folder in a space's virtual tree.
    Folder from entity::folders::Model {
        id: Uuid,
        space_id: Uuid,
        parent_id: Option<Uuid>,
        name: String,
        path: String,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A file's metadata (the bytes live in the object store).
    File from entity::files::Model {
        id: Uuid,
        space_id: Option<Uuid>,
        folder_id: Option<Uuid>,
        owner_id: Uuid,
        name: String,
        content_type: String,
        size: i64,
        sha256: Option<String>,
        visibility: FileVisibility,
        current_version: i32,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// One version of a file's content.
    FileVersion from entity::file_versions::Model {
        id: Uuid,
        file_id: Uuid,
        version: i32,
        content_type: String,
        size: i64,
        sha256: Option<String>,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// An explicit grant on a file, to a user or to a space.
    FileGrant from entity::file_permissions::Model {
        id: Uuid,
        file_id: Uuid,
        grantee_user_id: Option<Uuid>,
        grantee_space_id: Option<Uuid>,
        permission: FilePermission,
        created_by: Option<Uuid>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

object! {
    /// A text chunk of a file (its embedding is kept for search, not shown).
    FileChunk from entity::file_chunks::Model {
        id: Uuid,
        file_id: Uuid,
        chunk_index: i32,
        content: String,
        embedding_model: Option<String>,
        created_at: DateTime<FixedOffset>,
        updated_at: DateTime<FixedOffset>,
    }
}

complex! {
    Folder {
        many folders: Folder = entity::folders::Entity["parent_id"] by id;
        many files: File = entity::files::Entity["folder_id"] by id;
        one space: Space = entity::spaces::Entity[space_id];
        one parent: Folder = entity::folders::Entity[parent_id];
    }
}

complex! {
    File {
        many versions: FileVersion = entity::file_versions::Entity["file_id"] by id;
        many grants: FileGrant = entity::file_permissions::Entity["file_id"] by id;
        one owner: User = entity::users::Entity[owner_id];
        one folder: Folder = entity::folders::Entity[folder_id];
        one space: Space = entity::spaces::Entity[space_id];
    }
    /// A link that downloads the current version until it expires (`expiresIn` seconds, 1 to
    /// 86400, 900 by default): presigned by the store for S3, else signed by Atlas
    /// (`/files/{token}`, naming the version, not the object). Issuing one is audited.
    async fn download_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 900)] expires_in: i32,
    ) -> Result<String> {
        download_url(ctx, self.id, None, expires_in).await
    }
}

async fn download_url(
    ctx: &Context<'_>,
    file: uuid::Uuid,
    version: Option<uuid::Uuid>,
    expires_in: i32,
) -> Result<String> {
    let settings = ctx.data::<super::FileSettings>()?;
    let storage = ctx.data::<std::sync::Arc<service::storage::Storage>>()?;
    Ok(service::files::download_url(
        ctx.scope()?,
        storage,
        &settings.signing_secret,
        &settings.public_url,
        file,
        version,
        expires_in,
    )
    .await?)
}

complex! {
    FileVersion {
        one file: File = entity::files::Entity[file_id];
    }
    /// A link that downloads this version until it expires (see `File.downloadUrl`).
    async fn download_url(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 900)] expires_in: i32,
    ) -> Result<String> {
        download_url(ctx, self.file_id, Some(self.id), expires_in).await
    }
}

complex! {
    FileGrant {
        one file: File = entity::files::Entity[file_id];
        one grantee_user: User = entity::users::Entity[grantee_user_id];
        one grantee_space: Space = entity::spaces::Entity[grantee_space_id];
    }
}

complex! {
    FileChunk {
        one file: File = entity::files::Entity[file_id];
    }
}

crud_fields! {
    folders => Folder;
    query FolderQuery { folder, folders }
    mutation FolderMutation { create_folder, update_folder, delete_folder }
}

crud_fields! {
    files => File;
    query FileQuery { file, files }
    mutation FileMutation { no create, update_file, delete_file }
}

crud_fields! {
    file_versions => FileVersion;
    query FileVersionQuery { file_version, file_versions }
    mutation FileVersionMutation { no create, update_file_version, delete_file_version }
}

crud_fields! {
    file_permissions => FileGrant;
    query FileGrantQuery { file_grant, file_grants }
    mutation FileGrantMutation { grant_file, update_file_grant, revoke_file_grant }
}

crud_fields! {
    file_chunks => FileChunk;
    query FileChunkQuery { file_chunk, file_chunks }
    mutation FileChunkMutation { create_file_chunk, update_file_chunk, delete_file_chunk }
}

/// An upload's bytes and names, read from a GraphQL multipart request.
pub(crate) struct Uploaded {
    pub name: String,
    pub content_type: Option<String>,
    pub reader: tokio::fs::File,
}

pub(crate) fn uploaded(ctx: &Context<'_>, file: &async_graphql::Upload) -> Result<Uploaded> {
    let value = file.value(ctx).map_err(|e| {
        async_graphql::Error::new(format!("the uploaded file cannot be read: {e}"))
            .extend_with(|_, x| x.set("code", "BAD_USER_INPUT"))
    })?;
    Ok(Uploaded {
        name: value.filename,
        content_type: value.content_type,
        reader: tokio::fs::File::from_std(value.content),
    })
}

/// Store an upload as a file (or a new version of the file of that name in that folder).
pub(crate) async fn store_upload(
    ctx: &Context<'_>,
    file: &async_graphql::Upload,
    space_id: Option<Uuid>,
    folder_id: Option<Uuid>,
    name: Option<String>,
    visibility: FileVisibility,
) -> Result<entity::files::Model> {
    let up = uploaded(ctx, file)?;
    let storage = ctx.data::<std::sync::Arc<service::storage::Storage>>()?;
    let limit = ctx.data::<super::FileSettings>()?.max_upload_bytes;
    let input = service::files::UploadInput {
        space_id,
        folder_id,
        name: name.unwrap_or(up.name),
        content_type: up.content_type,
        visibility,
    };
    Ok(service::files::upload(ctx.scope()?, storage, input, up.reader, limit).await?)
}

#[derive(Default)]
pub struct FileVerbs;

#[Object]
impl FileVerbs {
    /// Upload a file with a GraphQL multipart request (`curl -F operations=… -F map=… -F 0=@file`).
    /// The bytes are streamed to the object store and checked against the declared type; a file
    /// of the same name in the same folder gets a new version.
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        file: async_graphql::Upload,
        space_id: Option<Uuid>,
        folder_id: Option<Uuid>,
        #[graphql(desc = "The file's name; the uploaded file's own name when left out.")] name: Option<String>,
        #[graphql(default_with = "FileVisibility::Private")] visibility: FileVisibility,
    ) -> Result<File> {
        Ok(store_upload(ctx, &file, space_id, folder_id, name, visibility).await?.into())
    }

    /// Upload a project's guidelines (seed 003: a PDF reviewers read) and link it to the project;
    /// stored as a file visible to the organisation, a new version when re-uploaded.
    async fn upload_project_guidelines(
        &self,
        ctx: &Context<'_>,
        project_id: Uuid,
        file: async_graphql::Upload,
    ) -> Result<super::work::Project> {
        let scope = ctx.scope()?;
        service::work::projects::get(scope, project_id).await?;
        let stored = store_upload(ctx, &file, None, None, None, FileVisibility::Organization).await?;
        let input = service::work::projects::UpdateProjectInput {
            guidelines_file_id: async_graphql::MaybeUndefined::Value(stored.id),
            ..Default::default()
        };
        Ok(service::work::projects::update(scope, project_id, input).await?.into())
    }
}
