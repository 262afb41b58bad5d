//! The one Relay connection type: `edges { cursor node }`, `pageInfo`, `totalCount`, for every entity.
use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{Context, OutputType, SimpleObject};
use service::pagination::{decode_cursor, encode_cursor};
use service::{Page, PageArgs};

pub struct Cursor(pub u64);

impl CursorType for Cursor {
    type Error = String;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        decode_cursor("after", s).map(Cursor).map_err(|e| e.message())
    }

    fn encode_cursor(&self) -> String {
        encode_cursor(self.0)
    }
}

#[derive(SimpleObject)]
pub struct TotalCount {
    /// How many rows match the filter, across all pages.
    pub total_count: i64,
}

pub type Conn<N> = Connection<Cursor, N, TotalCount, EmptyFields>;

/// The paging arguments of a connection field, and whether `totalCount` was selected (the count
/// query runs only then).
pub fn page_args(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageArgs {
    let want_total = ctx.look_ahead().field("totalCount").exists();
    PageArgs { first, after, last, before, want_total }
}

pub fn connection<M, N: OutputType>(page: Page<M>, wrap: impl Fn(M) -> N) -> Conn<N> {
    let total = page.total.unwrap_or(0) as i64;
    let mut conn = Connection::with_additional_fields(
        page.has_previous_page,
        page.has_next_page,
        TotalCount { total_count: total },
    );
    conn.edges.extend(page.items.into_iter().map(|(offset, m)| Edge::new(Cursor(offset), wrap(m))));
    conn
}
