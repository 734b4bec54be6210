//! Listings as a dialect asks for them: a whole [`ListQuery`] (filters, order,
//! keyset cursor, offset), always in the caller's view.

use crate::auth::DeskPrincipal;
use crate::gateway::{Gateway, GatewayError};
use crate::model::Incident;
use crate::store::{ListQuery, Viewer};

impl Gateway {
    /// The incidents `query` asks for, among those `who` is party to (whatever
    /// viewer the query names).
    pub async fn query(&self, who: &DeskPrincipal, query: ListQuery) -> Result<Vec<Incident>, GatewayError> {
        let query = ListQuery { viewer: Viewer::of(&who.actor()), ..query };
        Ok(self.store.list_incidents(&query).await?)
    }

    /// How many incidents `who` sees that `query` matches, counting at most `at_most`.
    pub async fn count(&self, who: &DeskPrincipal, query: ListQuery, at_most: usize) -> Result<usize, GatewayError> {
        let query = ListQuery { viewer: Viewer::of(&who.actor()), ..query };
        Ok(self.store.count_incidents(&query, at_most).await?)
    }
}
