//! One generic create / read / update / delete for tenant tables. `crud!` declares, for one
//! entity, its filter, ordering, create and update inputs (the GraphQL inputs, defined once) and
//! the functions behind them; the work itself is done by the generic helpers of `query`, so every
//! entity gets the tenant filter, role checks, the audit log and change events the same way.
use async_graphql::MaybeUndefined;
use sea_orm::ActiveValue;
use uuid::Uuid;

/// An update input's field as the active value of its column: an absent field leaves the column
/// alone; `MaybeUndefined` distinguishes "absent" from an explicit `null` for nullable columns.
pub trait IntoActive<T: Into<sea_orm::Value>> {
    fn into_active(self) -> ActiveValue<T>;
}

impl<T: Into<sea_orm::Value>> IntoActive<T> for Option<T> {
    fn into_active(self) -> ActiveValue<T> {
        match self {
            Some(v) => ActiveValue::Set(v),
            None => ActiveValue::NotSet,
        }
    }
}

impl<T> IntoActive<Option<T>> for MaybeUndefined<T>
where
    Option<T>: Into<sea_orm::Value>,
{
    fn into_active(self) -> ActiveValue<Option<T>> {
        match self {
            MaybeUndefined::Undefined => ActiveValue::NotSet,
            MaybeUndefined::Null => ActiveValue::Set(None),
            MaybeUndefined::Value(v) => ActiveValue::Set(Some(v)),
        }
    }
}

/// The parent id carried by a change event (a task's project), from a required or optional key.
pub fn parent(v: impl Into<Option<Uuid>>) -> Option<Uuid> {
    v.into()
}

/// Declares the inputs and CRUD functions of one tenant entity, in a module of its own:
///
/// ```ignore
/// crud! {
///     /// Projects.
///     pub mod projects for projects as "project";
///     filter ProjectFilter { name: StringFilter => Name, }
///     order ProjectOrderField / ProjectOrderBy { Name => Name, CreatedAt => CreatedAt, } default CreatedAt Asc;
///     create CreateProjectInput { name: String, scheduled_at: Option<DateTimeWithTimeZone> => db_default, }
///     update UpdateProjectInput { name: Option<String>, description: MaybeUndefined<String>, }
///     roles read Viewer, write Member, delete Manager;
///     events none;                       // or: events parent project_id [space space_id];
///     check create check_project;        // optional: async fn(&Scope, &mut Create) -> Result<()>
///     check update check_project_update; // optional: async fn(&Scope, Uuid, &mut Update) -> Result<()>
///     stamp stamp_row;                   // optional: async fn(&Scope, &mut ActiveModel) -> Result<()>
///     after after_write;                 // optional: async fn(&Scope, &Model) -> Result<()>
///     narrow default_filter;             // optional: fn(Option<Filter>) -> Option<Filter>, for lists
/// }
/// ```
#[macro_export]
macro_rules! crud {
    (
        $(#[$modmeta:meta])*
        pub mod $module:ident for $entity:ident as $label:literal;
        filter $Filter:ident { $( $(#[$fmeta:meta])* $ffield:ident : $fty:ty => $fcol:ident, )* }
        order $OrderField:ident / $OrderBy:ident { $( $ovar:ident => $ocol:ident, )* } default $dcol:ident $ddir:ident;
        create $Create:ident { $( $(#[$cmeta:meta])* $cfield:ident : $cty:ty $( => $cmode:ident )?, )* }
        update $Update:ident { $( $(#[$umeta:meta])* $ufield:ident : $uty:ty, )* }
        roles write $write:ident, delete $delete:ident;
        events $( parent $pfield:ident )? $( space $sfield:ident )? $( none )?;
        $( check create $ccheck:path; )?
        $( check update $ucheck:path; )?
        $( stamp $stamp:path; )?
        $( after $after:path; )?
        $( narrow $narrow:path; )?
    ) => {
        $(#[$modmeta])*
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;
            use entity::$entity::{ActiveModel as Am, Column as C, Entity as E, Model as M};
            use entity::sea_orm_active_enums::MemberRole;
            #[allow(unused_imports)]
            use sea_orm::QueryFilter as _;
            #[allow(unused_imports)]
            use $crate::crud::IntoActive as _;
            use $crate::{Page, PageArgs, Result, Scope};

            pub type Filter = $Filter;
            pub type OrderBy = $OrderBy;
            pub type Create = $Create;
            pub type Update = $Update;

            #[derive(async_graphql::InputObject, Clone, Debug, Default)]
            pub struct $Filter {
                $( $(#[$fmeta])* pub $ffield: Option<$fty>, )*
                /// Every one of these filters holds.
                pub and: Option<Vec<$Filter>>,
                /// At least one of these filters holds.
                pub or: Option<Vec<$Filter>>,
                /// This filter does not hold.
                pub not: Option<Box<$Filter>>,
            }

            impl $Filter {
                pub fn condition(&self) -> sea_orm::Condition {
                    let mut c = $crate::query::all_of([ $( $crate::filter::on(&self.$ffield, C::$fcol), )* ]);
                    for f in self.and.iter().flatten() {
                        c = c.add(f.condition());
                    }
                    if let Some(any) = &self.or {
                        c = c.add(any.iter().fold(sea_orm::Condition::any(), |acc, f| acc.add(f.condition())));
                    }
                    if let Some(f) = &self.not {
                        c = c.add(f.condition().not());
                    }
                    c
                }
            }

            #[derive(async_graphql::Enum, Copy, Clone, Debug, Eq, PartialEq)]
            pub enum $OrderField { $( $ovar, )* }

            #[derive(async_graphql::InputObject, Clone, Debug)]
            pub struct $OrderBy {
                pub field: $OrderField,
                #[graphql(default)]
                pub direction: $crate::filter::SortDirection,
            }

            #[derive(async_graphql::InputObject, Clone, Debug)]
            pub struct $Create { $( $(#[$cmeta])* pub $cfield: $cty, )* }

            #[derive(async_graphql::InputObject, Clone, Debug, Default)]
            pub struct $Update { $( $(#[$umeta])* pub $ufield: $uty, )* }

            /// A page of the tenant's rows. Costly columns for which `reads` says no hold stand-ins
            /// (see `query::Skip`).
            pub async fn list(
                scope: &Scope,
                filter: Option<$Filter>,
                order_by: Vec<$OrderBy>,
                args: &PageArgs,
                reads: impl Fn(&str) -> bool,
            ) -> Result<Page<M>> {
                $( let filter = $narrow(filter); )?
                let mut select = $crate::query::skipping(
                    $crate::query::scoped::<E>(scope)?,
                    $crate::query::Skip::unwanted::<E>(reads),
                );
                if let Some(f) = filter {
                    select = select.filter(f.condition());
                }
                let mut order: Vec<(C, sea_orm::Order)> = order_by
                    .iter()
                    .map(|o| (match o.field { $( $OrderField::$ovar => C::$ocol, )* }, o.direction.into()))
                    .collect();
                if order.is_empty() {
                    order.push((C::$dcol, sea_orm::Order::$ddir));
                }
                $crate::query::page(scope, select, &order, args).await
            }

            pub async fn get(scope: &Scope, id: uuid::Uuid) -> Result<M> {
                $crate::query::get::<E>(scope, $label, id).await
            }

            #[allow(unused_mut)]
            pub async fn create(scope: &Scope, mut input: $Create) -> Result<M> {
                scope.require(MemberRole::$write, concat!("create a ", $label)).await?;
                $( $ccheck(scope, &mut input).await?; )?
                #[allow(unused_mut)]
                let mut model = Am { $( $cfield: $crate::crud::create_value!(input.$cfield $(, $cmode)?), )* ..Default::default() };
                $( $stamp(scope, &mut model).await?; )?
                let fields = $crate::crud::set_fields(&model);
                let row = $crate::query::insert(scope, model).await?;
                $crate::crud::changed!(scope, row, $label, $entity, Created, fields, [$($pfield)?], [$($sfield)?]);
                $( $after(scope, &row).await?; )?
                Ok(row)
            }

            #[allow(unused_mut)]
            pub async fn update(scope: &Scope, id: uuid::Uuid, mut input: $Update) -> Result<M> {
                scope.require(MemberRole::$write, concat!("update a ", $label)).await?;
                $( $ucheck(scope, id, &mut input).await?; )?
                let model = Am { $( $ufield: input.$ufield.into_active(), )* ..Default::default() };
                let fields = $crate::crud::set_fields(&model);
                let row = $crate::query::update(scope, $label, id, model).await?;
                $crate::crud::changed!(scope, row, $label, $entity, Updated, fields, [$($pfield)?], [$($sfield)?]);
                $( $after(scope, &row).await?; )?
                Ok(row)
            }

            pub async fn delete(scope: &Scope, id: uuid::Uuid) -> Result<M> {
                scope.require(MemberRole::$delete, concat!("delete a ", $label)).await?;
                let row = $crate::query::delete::<E>(scope, $label, id).await?;
                $crate::crud::changed!(scope, row, $label, $entity, Deleted, Vec::<&str>::new(), [$($pfield)?], [$($sfield)?]);
                Ok(row)
            }
        }
    };
}

/// A create input's field as its column's value; `=> db_default` marks an optional field whose
/// absence leaves the column to its database default (`now()` for times, say).
#[macro_export]
#[doc(hidden)]
macro_rules! __crud_create_value {
    ($e:expr) => {
        sea_orm::ActiveValue::Set($e)
    };
    ($e:expr, db_default) => {
        match $e {
            Some(v) => sea_orm::ActiveValue::Set(v),
            None => sea_orm::ActiveValue::NotSet,
        }
    };
}
pub use __crud_create_value as create_value;

/// The columns a write sets (names only, never values: some hold secrets), for the audit row;
/// the keys and timestamps every write sets are left out.
pub fn set_fields<A: sea_orm::ActiveModelTrait>(model: &A) -> Vec<&'static str> {
    use sea_orm::{IdenStatic, Iterable};
    <<A as sea_orm::ActiveModelTrait>::Entity as sea_orm::EntityTrait>::Column::iter()
        .filter(|c| model.get(*c).is_set())
        .map(|c| c.as_str())
        .filter(|name| !matches!(*name, "id" | "tenant_id" | "created_at" | "updated_at"))
        .collect()
}

/// After a write: the audit row (naming the fields it set) and the change event, both inside the
/// request's transaction.
#[macro_export]
#[doc(hidden)]
macro_rules! __crud_changed {
    ($scope:expr, $row:expr, $label:literal, $entity:ident, $op:ident, $fields:expr, [$($pfield:ident)?], [$($sfield:ident)?]) => {{
        let op = $crate::events::ChangeOp::$op;
        let meta = serde_json::json!({ "fields": $fields });
        $crate::governance::record($scope, &format!("{}.{}", $label, op.verb()), stringify!($entity), $row.id, meta)
            .await?;
        #[allow(unused_mut, unused_assignments)]
        let mut parent: Option<uuid::Uuid> = None;
        $( parent = $crate::crud::parent($row.$pfield); )?
        #[allow(unused_mut, unused_assignments)]
        let mut space: Option<uuid::Uuid> = None;
        $( space = $crate::crud::parent($row.$sfield); )?
        $crate::events::notify_in($scope, stringify!($entity), $row.id, op, parent, space).await?;
    }};
}
pub use __crud_changed as changed;
