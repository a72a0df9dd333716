//! Lists read whole, a page at a time, so that no list of thousands of
//! objects is one response the API server has to build at once.

use kube::api::{ListParams, ObjectList};
use std::future::Future;

/// Items a page.
const PAGE: u32 = 500;

/// Every item of a list: `page` fetches one page for the parameters it is
/// given (`api.list`, `api.list_metadata`...), and is called again with the
/// continue token until none is left.
pub async fn all<T, F, Fut>(lp: ListParams, mut page: F) -> kube::Result<Vec<T>>
where
    T: Clone,
    F: FnMut(ListParams) -> Fut,
    Fut: Future<Output = kube::Result<ObjectList<T>>>,
{
    let mut lp = lp.limit(PAGE);
    let mut items = vec![];
    loop {
        let list = page(lp.clone()).await?;
        items.extend(list.items);
        match list.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp.continue_token = Some(token),
            None => return Ok(items),
        }
    }
}
