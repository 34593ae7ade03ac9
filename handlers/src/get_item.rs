//! Read the active cart item of one customer at one vendor.

use crate::error::QueryError;
use crate::ports::{CartItem, CartStore};
use skipline_events::check_id;

/// Both ids are validated before the store is asked.
pub async fn get_item(
    cart: &dyn CartStore,
    accountid: Option<&str>,
    vendorid: Option<&str>,
) -> Result<CartItem, QueryError> {
    let (Some(accountid), Some(vendorid)) = (accountid, vendorid) else {
        return Err(QueryError::BadRequest(
            "query parameters accountid and vendorid are both required".into(),
        ));
    };
    for (field, value) in [("accountid", accountid), ("vendorid", vendorid)] {
        if let Some(p) = check_id(field, value) {
            return Err(QueryError::BadRequest(p.to_string()));
        }
    }
    cart.get(accountid, vendorid)
        .await?
        .ok_or_else(|| QueryError::NotFound(format!("no active order for account {accountid} at vendor {vendorid}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemoryCart, cart_item};

    #[tokio::test]
    async fn finds_validates_and_reports_missing() {
        let cart = MemoryCart::holding([cart_item("a0", "v0", "o1")]);
        assert_eq!(get_item(&cart, Some("a0"), Some("v0")).await.unwrap().orderid, "o1");
        assert!(matches!(
            get_item(&cart, Some("a0"), Some("v9")).await,
            Err(QueryError::NotFound(_))
        ));
        assert!(
            matches!(get_item(&cart, Some("a0"), None).await, Err(QueryError::BadRequest(m)) if m.contains("both required"))
        );
        assert!(
            matches!(get_item(&cart, Some("a/0"), Some("v0")).await, Err(QueryError::BadRequest(m)) if m.contains("accountid"))
        );
    }
}
