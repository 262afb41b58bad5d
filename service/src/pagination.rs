//! Relay-style paging arguments and results. Cursors are opaque to clients: a base64 offset
//! within the ordered result, checked on the way in.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

use crate::error::{Result, ServiceError};

pub const MAX_PAGE_SIZE: u64 = 100;
pub const DEFAULT_PAGE_SIZE: u64 = 20;

#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    /// Whether the client selected `totalCount`: the count query runs only then.
    pub want_total: bool,
}

/// Which slice of the ordered rows a request wants, before the total is known.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Window {
    start: u64,
    end: Option<u64>,
    first: Option<u64>,
    last: Option<u64>,
}

impl Window {
    pub fn needs_total(&self) -> bool {
        self.last.is_some() && self.end.is_none()
    }

    /// The window as four SQL parameters for `query::page_by_column`: start, end, first (or the
    /// default page size; none with `last`) and last.
    pub fn bounds(&self) -> [Option<i64>; 4] {
        let n = if self.last.is_some() { None } else { Some(self.first.unwrap_or(DEFAULT_PAGE_SIZE)) };
        [Some(self.start), self.end, n, self.last].map(|v| v.map(|v| v.min(i64::MAX as u64) as i64))
    }

    /// (offset, limit) once the total is known (it is when `needs_total`).
    pub fn resolve(&self, total: Option<u64>) -> (u64, u64) {
        let end = self.end.or(total).unwrap_or(u64::MAX).max(self.start);
        match (self.first, self.last) {
            (_, Some(last)) => {
                let from = end.saturating_sub(last).max(self.start);
                (from, (end - from).min(last))
            }
            (first, None) => {
                let n = first.unwrap_or(DEFAULT_PAGE_SIZE);
                (self.start, n.min(end - self.start))
            }
        }
    }
}

impl PageArgs {
    pub fn window(&self) -> Result<Window> {
        let size = |name: &str, v: Option<i32>| -> Result<Option<u64>> {
            match v {
                None => Ok(None),
                Some(n) if n < 0 => Err(ServiceError::bad_input(name, format!("{name} must not be negative"))),
                Some(n) if n as u64 > MAX_PAGE_SIZE => Err(ServiceError::bad_input(
                    name,
                    format!("{name} must be at most {MAX_PAGE_SIZE}; page through larger results with cursors"),
                )),
                Some(n) => Ok(Some(n as u64)),
            }
        };
        let first = size("first", self.first)?;
        let last = size("last", self.last)?;
        if first.is_some() && last.is_some() {
            return Err(ServiceError::bad_input("last", "give either first or last, not both"));
        }
        let start = match &self.after {
            Some(c) => decode_cursor("after", c)? + 1,
            None => 0,
        };
        let end = match &self.before {
            Some(c) => Some(decode_cursor("before", c)?),
            None => None,
        };
        Ok(Window { start, end, first, last })
    }
}

pub fn encode_cursor(offset: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("atlas:{offset}"))
}

pub fn decode_cursor(field: &str, cursor: &str) -> Result<u64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("atlas:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ServiceError::bad_input(field, format!("{field} is not a cursor this API returned")))
}

/// A page of rows with their offsets (for cursors) and what the client needs to page on.
pub struct Page<T> {
    pub items: Vec<(u64, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub total: Option<u64>,
}

impl<T> Page<T> {
    pub fn new(rows: Vec<T>, offset: u64, has_more: bool, total: Option<u64>) -> Self {
        let has_next_page = match total {
            Some(total) => offset + (rows.len() as u64) < total,
            None => has_more,
        };
        Self {
            items: rows.into_iter().enumerate().map(|(i, r)| (offset + i as u64, r)).collect(),
            has_next_page,
            has_previous_page: offset > 0,
            total,
        }
    }

    /// The same page with each row turned into `f(row)`.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(offset, row)| (offset, f(row))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            total: self.total,
        }
    }

    /// A page cut from rows already in memory (children loaded in one batch for many parents).
    pub fn from_loaded(rows: Vec<T>, args: &PageArgs) -> Result<Self> {
        let total = rows.len() as u64;
        let (offset, limit) = args.window()?.resolve(Some(total));
        let slice: Vec<T> = rows.into_iter().skip(offset as usize).take(limit as usize).collect();
        Ok(Self::new(slice, offset, false, Some(total)))
    }
}
