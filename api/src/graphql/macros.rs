//! The two macros every entity's GraphQL goes through: `object!` (the type, exposing only the
//! listed columns) and `crud_fields!` (by id, connection, create, update, delete over a
//! `service::crud!` module). Relations are written by hand in a `#[ComplexObject]` impl.

/// A GraphQL object over an entity model. Only the listed fields are exposed: columns such as
/// token hashes or secrets are simply not listed.
macro_rules! object {
    ($(#[$meta:meta])* $Object:ident from $model:path { $( $(#[$fmeta:meta])* $field:ident : $ty:ty, )* }) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject, Clone)]
        #[graphql(complex)]
        pub struct $Object {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl From<$model> for $Object {
            fn from(m: $model) -> Self {
                Self { $( $field: m.$field.into(), )* }
            }
        }
    };
}

/// Query and mutation fields for one `service::crud!` module (imported at the call site).
macro_rules! crud_fields {
    (
        $module:ident => $Object:ident;
        query $Query:ident { $one:ident, $many:ident }
        mutation $Mutation:ident { $create:ident, $update:ident, $delete:ident }
    ) => {
        #[derive(Default)]
        pub struct $Query;

        #[async_graphql::Object]
        impl $Query {
            #[doc = concat!("One ", stringify!($Object), " of the tenant, by id.")]
            async fn $one(&self, ctx: &async_graphql::Context<'_>, id: uuid::Uuid) -> async_graphql::Result<$Object> {
                Ok($module::get($crate::graphql::CtxExt::scope(ctx)?, id).await?.into())
            }

            #[doc = concat!("The tenant's ", stringify!($Object), " rows: filter, order, page.")]
            #[allow(clippy::too_many_arguments)]
            #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
            async fn $many(
                &self,
                ctx: &async_graphql::Context<'_>,
                first: Option<i32>,
                after: Option<String>,
                last: Option<i32>,
                before: Option<String>,
                filter: Option<$module::Filter>,
                order_by: Option<Vec<$module::OrderBy>>,
            ) -> async_graphql::Result<$crate::graphql::connection::Conn<$Object>> {
                let args = $crate::graphql::connection::page_args(ctx, first, after, last, before);
                let scope = $crate::graphql::CtxExt::scope(ctx)?;
                let names = $crate::graphql::selected(ctx, true);
                let reads = |column: &str| $crate::graphql::reads(&names, column);
                let page = $module::list(scope, filter, order_by.unwrap_or_default(), &args, reads).await?;
                Ok($crate::graphql::connection::connection(page, $Object::from))
            }
        }

        #[derive(Default)]
        pub struct $Mutation;

        #[async_graphql::Object]
        impl $Mutation {
            #[doc = concat!("Create a ", stringify!($Object), ".")]
            async fn $create(&self, ctx: &async_graphql::Context<'_>, input: $module::Create) -> async_graphql::Result<$Object> {
                Ok($module::create($crate::graphql::CtxExt::scope(ctx)?, input).await?.into())
            }

            #[doc = concat!("Change a ", stringify!($Object), ": absent fields stay, null clears.")]
            async fn $update(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: uuid::Uuid,
                input: $module::Update,
            ) -> async_graphql::Result<$Object> {
                Ok($module::update($crate::graphql::CtxExt::scope(ctx)?, id, input).await?.into())
            }

            #[doc = concat!("Delete a ", stringify!($Object), " (and what cascades from it); returns what was deleted.")]
            async fn $delete(&self, ctx: &async_graphql::Context<'_>, id: uuid::Uuid) -> async_graphql::Result<$Object> {
                Ok($module::delete($crate::graphql::CtxExt::scope(ctx)?, id).await?.into())
            }
        }
    };
}

/// The `#[ComplexObject]` of an `object!`: its to-many relations as connections (rows of an entity
/// whose column holds this object's key, batched by the by-key loader), then any other fields.
macro_rules! complex {
    (
        $Object:ident { $( $(#[$m:meta])* many $name:ident : $Child:ty = $entity:path [$col:literal] by $key:ident; )* }
        $($extra:tt)*
    ) => {
        #[async_graphql::ComplexObject]
        impl $Object {
            $(
                $(#[$m])*
                #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
                async fn $name(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    first: Option<i32>,
                    after: Option<String>,
                    last: Option<i32>,
                    before: Option<String>,
                ) -> async_graphql::Result<$crate::graphql::connection::Conn<$Child>> {
                    $crate::graphql::many::<$entity, _>(ctx, $col, self.$key, first, after, last, before).await
                }
            )*
            $($extra)*
        }
    };
}
