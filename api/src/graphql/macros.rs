//! The two macros every entity's GraphQL goes through: `object!` (the type, exposing only the
//! listed columns) and `crud_fields!` (by id, connection, create, update, delete over a
//! `service::crud!` module), and `complex!` for every object's relations and computed fields.

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

        impl $crate::graphql::plan::Columns for $Object {
            fn column(name: &str) -> Option<$crate::graphql::plan::Column<Self>> {
                $(
                    if $crate::graphql::is_camel_of(name, stringify!($field)) {
                        // The planner decodes the column as the field's type: the model's field
                        // must be of that very type, or this does not compile.
                        let _: fn(&$model) -> &$ty = |m| &m.$field;
                        return Some($crate::graphql::plan::Column {
                            name: stringify!($field),
                            get: |o: &Self| $crate::graphql::plan::Plain::plain(&o.$field),
                            decode: |row, i| {
                                let value = <$ty as sea_orm::TryGetable>::try_get_by_index(row, i)?;
                                Ok($crate::graphql::plan::Plain::into_plain(value))
                            },
                        });
                    }
                )*
                None
            }
        }
    };
}

/// Query and mutation fields for one `service::crud!` module (imported at the call site). A
/// table whose rows only Atlas creates (files come from uploads, jobs from `enqueueJob`'s checks)
/// says `no create` instead of naming its create field.
macro_rules! crud_fields {
    (
        $module:ident => $Object:ident;
        query $Query:ident { $one:ident, $many:ident }
        mutation $Mutation:ident { $create:ident, $update:ident, $delete:ident }
    ) => {
        crud_fields!(@fields $module => $Object; $Query { $one, $many } $Mutation { [$create] $update, $delete });
    };
    (
        $module:ident => $Object:ident;
        query $Query:ident { $one:ident, $many:ident }
        mutation $Mutation:ident { no create, $update:ident, $delete:ident }
    ) => {
        crud_fields!(@fields $module => $Object; $Query { $one, $many } $Mutation { [] $update, $delete });
    };
    (@fields
        $module:ident => $Object:ident;
        $Query:ident { $one:ident, $many:ident }
        $Mutation:ident { [$($create:ident)?] $update:ident, $delete:ident }
    ) => {
        #[derive(Default)]
        pub struct $Query;

        #[async_graphql::Object]
        impl $Query {
            #[doc = concat!("One ", stringify!($Object), " of the tenant, by id.")]
            async fn $one(
                &self,
                ctx: &async_graphql::Context<'_>,
                id: uuid::Uuid,
            ) -> async_graphql::Result<$crate::graphql::plan::Planned<$Object>> {
                let row = $module::get($crate::graphql::CtxExt::scope(ctx)?, id).await?;
                $crate::graphql::plan::object(ctx, $Object::from(row)).await
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
            ) -> async_graphql::Result<$crate::graphql::plan::Planned<$crate::graphql::connection::Conn<$Object>>> {
                let args = $crate::graphql::connection::page_args(ctx, first, after, last, before);
                let scope = $crate::graphql::CtxExt::scope(ctx)?;
                let names = $crate::graphql::selected(ctx, true);
                let reads = |column: &str| $crate::graphql::reads(&names, column);
                let page = $module::list(scope, filter, order_by.unwrap_or_default(), &args, reads).await?;
                $crate::graphql::plan::connection(ctx, page.map($Object::from)).await
            }
        }

        #[derive(Default)]
        pub struct $Mutation;

        #[async_graphql::Object]
        impl $Mutation {
            $(
            #[doc = concat!("Create a ", stringify!($Object), ".")]
            async fn $create(&self, ctx: &async_graphql::Context<'_>, input: $module::Create) -> async_graphql::Result<$Object> {
                Ok($module::create($crate::graphql::CtxExt::scope(ctx)?, input).await?.into())
            }

            )?
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

/// The `#[ComplexObject]` of an `object!`: its relations, then any other fields. Relation lines:
/// - `many name: Child = entity["column"] by key;` rows of `entity` whose `column` holds this
///   object's `key`, as a connection (batched by the by-key loader);
/// - `one name: Child = entity[key];` the row of `entity` whose id is this object's `key` (a
///   `Uuid` or an `Option<Uuid>`), or null (batched by the by-id loader).
///
/// Both kinds are also what `graphql::plan` follows when it answers a whole subtree.
macro_rules! complex {
    // Sort the relation lines into `many` and `one` lists, then write the impls.
    (@lines $Object:ident [$($many:tt)*] [$($one:tt)*]
        [$(#[$m:meta])* many $name:ident : $Child:ty = $entity:path [$col:literal] by $key:ident; $($rest:tt)*]
        $($extra:tt)*
    ) => {
        complex!(@lines $Object [$($many)* ([$(#[$m])*] $name, $Child, $entity, $col, $key)] [$($one)*] [$($rest)*] $($extra)*);
    };
    (@lines $Object:ident [$($many:tt)*] [$($one:tt)*]
        [$(#[$m:meta])* one $name:ident : $Child:ty = $entity:path [$key:ident]; $($rest:tt)*]
        $($extra:tt)*
    ) => {
        complex!(@lines $Object [$($many)*] [$($one)* ([$(#[$m])*] $name, $Child, $entity, $key)] [$($rest)*] $($extra)*);
    };
    (@lines $Object:ident
        [$( ([$(#[$m:meta])*] $name:ident, $Child:ty, $entity:path, $col:literal, $key:ident) )*]
        [$( ([$(#[$om:meta])*] $oname:ident, $OChild:ty, $oentity:path, $okey:ident) )*]
        []
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
            $(
                $(#[$om])*
                async fn $oname(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<$OChild>> {
                    $crate::graphql::one::<$oentity, _>(ctx, Option::<uuid::Uuid>::from(self.$okey)).await
                }
            )*
            $($extra)*
        }

        impl $crate::graphql::plan::Relations for $Object {
            fn relation(
                name: &str,
                field: async_graphql::SelectionField<'_>,
            ) -> Option<$crate::graphql::plan::Relation<Self>> {
                $(
                    if $crate::graphql::is_camel_of(name, stringify!($name)) {
                        return $crate::graphql::plan::many::<Self, $entity, $Child>(
                            $col,
                            stringify!($key),
                            |o: &Self| Option::<uuid::Uuid>::from(o.$key),
                            field,
                        );
                    }
                )*
                $(
                    if $crate::graphql::is_camel_of(name, stringify!($oname)) {
                        return $crate::graphql::plan::one::<Self, $oentity, $OChild>(
                            stringify!($okey),
                            |o: &Self| Option::<uuid::Uuid>::from(o.$okey),
                            field,
                        );
                    }
                )*
                let _ = (name, field);
                None
            }
        }
    };
    ($Object:ident { $($lines:tt)* } $($extra:tt)*) => {
        complex!(@lines $Object [] [] [$($lines)*] $($extra)*);
    };
}
