//! Page-number pagination as the seed's REST framework does it: 10 per page, `?page=N`
//! (1-based), absolute `next`/`previous` links, and 404 for a page past the end.

use contract_runtime::{ApiError, RequestContext};

pub const PAGE_SIZE: i64 = 10;

/// One requested page of a collection of `count` items at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub limit: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl Page {
    /// The page `number` (default 1), or 404 when it is past the last page. An empty
    /// collection still has page 1.
    pub fn of(
        context: &RequestContext,
        path: &str,
        number: Option<i64>,
        count: i64,
    ) -> Result<Self, ApiError> {
        let number = number.unwrap_or(1);
        let last = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        if number > last {
            return Err(ApiError::NotFound(format!(
                "invalid page {number}: the last page is {last}"
            )));
        }
        let link = |n: i64| match n {
            1 => context.url(path),
            n => context.url(&format!("{path}?page={n}")),
        };
        Ok(Self {
            offset: (number - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
            next: (number < last).then(|| link(number + 1)),
            previous: (number > 1).then(|| link(number - 1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        RequestContext {
            principal: None,
            base_url: "http://example.org".into(),
        }
    }

    #[test]
    fn links_follow_the_seed() {
        let page = Page::of(&context(), "/api/persons/", Some(2), 25).expect("page 2 exists");
        assert_eq!(page.offset, 10);
        assert_eq!(
            page.next.as_deref(),
            Some("http://example.org/api/persons/?page=3")
        );
        assert_eq!(
            page.previous.as_deref(),
            Some("http://example.org/api/persons/")
        );
        let last = Page::of(&context(), "/api/persons/", Some(3), 25).expect("page 3 exists");
        assert_eq!(last.next, None);
    }

    #[test]
    fn an_empty_collection_has_page_one_only() {
        let first = Page::of(&context(), "/api/persons/", None, 0).expect("page 1 exists");
        assert_eq!((first.next, first.previous), (None, None));
        assert!(matches!(
            Page::of(&context(), "/api/persons/", Some(2), 0),
            Err(ApiError::NotFound(_))
        ));
    }
}
