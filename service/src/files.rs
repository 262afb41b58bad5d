//! Files (metadata): folders as a virtual tree, files with versions, visibility and grants, and
//! file text chunks. The bytes and visibility enforcement come with the object store.
use async_graphql::MaybeUndefined;
use entity::sea_orm_active_enums::{FilePermission, FileVisibility};
use uuid::Uuid;

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
