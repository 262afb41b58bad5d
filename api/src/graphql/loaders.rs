//! Generic DataLoaders, created per request so that a loader never serves two tenants: one by-id
//! loader and one by-foreign-key loader, for every entity. Each batch is one SQL statement.
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{sea_query::ValueType, EntityTrait, ModelTrait};
use service::pagination::Window;
use service::query::{self, Skip};
use service::Scope;
use uuid::Uuid;

pub struct ById<E>(Arc<Scope>, PhantomData<E>);
pub struct ByKey<E>(Arc<Scope>, PhantomData<E>);

/// A row by id, without the columns in `skip` (what the caller's selection does not read).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Id {
    pub id: Uuid,
    pub skip: Skip,
}

/// A foreign-key lookup: the page `window` of rows of `E` whose column `column` equals `value`,
/// without `skip`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Key {
    pub column: &'static str,
    pub value: Uuid,
    pub skip: Skip,
    pub window: Window,
}

/// One parent's page of children, and how many children it has in all.
#[derive(Clone)]
pub struct Children<M> {
    pub rows: Vec<M>,
    pub total: u64,
}

fn uuid_of<E: EntityTrait>(model: &E::Model, column: &str) -> Option<Uuid> {
    uuid_in::<E>(model, query::column::<E>(column).ok()?)
}

/// The UUID a row holds in `column` (none when null or not a UUID).
pub(crate) fn uuid_in<E: EntityTrait>(model: &E::Model, column: E::Column) -> Option<Uuid> {
    <Option<Uuid> as ValueType>::try_from(model.get(column)).ok().flatten()
}

impl<E> Loader<Id> for ById<E>
where
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync,
{
    type Value = E::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Id]) -> Result<HashMap<Id, E::Model>, Self::Error> {
        let mut out = HashMap::new();
        for (skip, ids) in group(keys, |k| (k.skip, k.id)) {
            for row in query::by_column::<E>(&self.0, "id", &ids, skip).await? {
                if let Some(id) = uuid_of::<E>(&row, "id") {
                    out.insert(Id { id, skip }, row);
                }
            }
        }
        Ok(out)
    }
}

impl<E> Loader<Key> for ByKey<E>
where
    E: EntityTrait + Send + Sync,
    E::Model: Send + Sync + Clone,
{
    type Value = Children<E::Model>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Key]) -> Result<HashMap<Key, Children<E::Model>>, Self::Error> {
        // Every requested key gets an entry, so "no children" is an empty page, not a miss.
        let mut out: HashMap<Key, Children<E::Model>> =
            keys.iter().map(|k| (*k, Children { rows: Vec::new(), total: 0 })).collect();
        for ((column, skip, window), values) in group(keys, |k| ((k.column, k.skip, k.window), k.value)) {
            for (value, (rows, total)) in query::page_by_column::<E>(&self.0, column, &values, skip, &window).await? {
                out.insert(Key { column, value, skip, window }, Children { rows, total });
            }
        }
        Ok(out)
    }
}

/// The keys of one batch grouped by what makes them one statement (column, skipped columns).
fn group<K, G: std::hash::Hash + Eq>(keys: &[K], split: impl Fn(&K) -> (G, Uuid)) -> HashMap<G, Vec<Uuid>> {
    let mut groups: HashMap<G, Vec<Uuid>> = HashMap::new();
    for k in keys {
        let (g, v) = split(k);
        groups.entry(g).or_default().push(v);
    }
    groups
}

/// The request's loaders, made on first use per entity type.
pub struct Loaders {
    scope: Arc<Scope>,
    /// Off for WebSocket connections, which live long and must see each event's fresh state.
    cache: bool,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    pub fn new(scope: Arc<Scope>, cache: bool) -> Self {
        Self { scope, cache, made: Mutex::new(HashMap::new()) }
    }

    fn get<L: Loader<K>, K>(&self, make: impl Fn(Arc<Scope>) -> L) -> Arc<DataLoader<L>>
    where
        K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    {
        let mut made = self.made.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = made.entry(TypeId::of::<L>()).or_insert_with(|| {
            // No batching delay: the loads of one level are all queued in one poll of the request
            // (a single task on its worker's runtime) before the batch task can run, so waiting
            // the default 1 ms per level only added latency.
            let loader = DataLoader::new(make(self.scope.clone()), tokio::spawn).delay(std::time::Duration::ZERO);
            loader.enable_all_cache(self.cache);
            Arc::new(Arc::new(loader)) as Arc<dyn Any + Send + Sync>
        });
        match entry.downcast_ref::<Arc<DataLoader<L>>>() {
            Some(loader) => loader.clone(),
            // Unreachable: the map is keyed by the loader's type.
            None => Arc::new(DataLoader::new(make(self.scope.clone()), tokio::spawn)),
        }
    }

    /// The row `id` of `E` in the caller's tenant, batched with every other `one` of this request.
    /// Columns in `skip` hold stand-ins: pass `Skip::NONE` when the whole row is used.
    pub async fn one<E>(&self, id: Uuid, skip: Skip) -> async_graphql::Result<Option<E::Model>>
    where
        E: EntityTrait + Send + Sync,
        E::Model: Send + Sync,
    {
        self.get::<ById<E>, Id>(|s| ById(s, PhantomData)).load_one(Id { id, skip }).await
    }

    /// The page `window` of the rows of `E` whose `column` is `value` (children of a parent),
    /// batched likewise: one statement for every parent of the level.
    pub async fn many<E>(
        &self,
        column: &'static str,
        value: Uuid,
        skip: Skip,
        window: Window,
    ) -> async_graphql::Result<Children<E::Model>>
    where
        E: EntityTrait + Send + Sync,
        E::Model: Send + Sync + Clone,
    {
        let key = Key { column, value, skip, window };
        let page = self.get::<ByKey<E>, Key>(|s| ByKey(s, PhantomData)).load_one(key).await?;
        Ok(page.unwrap_or(Children { rows: Vec::new(), total: 0 }))
    }
}

/// An aggregate over children, answered for many parents at once (see `service::stats`).
pub trait Batch: Send + Sync + 'static {
    type Value: Send + Sync + Clone + 'static;
    fn run(
        scope: &Scope,
        ids: &[Uuid],
    ) -> impl std::future::Future<Output = service::Result<HashMap<Uuid, Self::Value>>> + Send;
}

pub struct Batched<B>(Arc<Scope>, PhantomData<B>);

impl<B: Batch> Loader<Uuid> for Batched<B> {
    type Value = B::Value;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, B::Value>, Self::Error> {
        Ok(B::run(&self.0, keys).await?)
    }
}

impl Loaders {
    /// The aggregate `B` of parent `id`, batched with every other parent of this request.
    pub async fn batch<B: Batch>(&self, id: Uuid) -> async_graphql::Result<Option<B::Value>> {
        self.get::<Batched<B>, Uuid>(|s| Batched(s, PhantomData)).load_one(id).await
    }
}
