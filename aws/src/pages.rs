//! Paging through List, Query and Scan results, one way for every service.

/// Every item of a paginated call, up to `limit` ([`ALL`] for no limit). `page` gets the token
/// to start from (none at first) and the room left under `limit`, and returns its items and the
/// next token. Paging stops at the last page (no token, or an empty one, which some emulators
/// send) or once `limit` items are in.
pub(crate) async fn collect<T, K, E, Fut>(
    limit: usize,
    mut page: impl FnMut(Option<K>, usize) -> Fut,
) -> Result<Vec<T>, E>
where
    K: Default + PartialEq,
    Fut: Future<Output = Result<(Vec<T>, Option<K>), E>>,
{
    let mut items = Vec::new();
    let mut next = None;
    while items.len() < limit {
        let (found, token) = page(next.take(), limit - items.len()).await?;
        items.extend(found);
        match token {
            Some(token) if token != K::default() => next = Some(token),
            _ => break,
        }
    }
    items.truncate(limit);
    Ok(items)
}

/// No limit for [`collect`].
pub(crate) const ALL: usize = usize::MAX;
