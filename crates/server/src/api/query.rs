//! The query string as a request guard: the domain's [`RawQuery`], read
//! from the request's URI.

use std::convert::Infallible;

use contactsd_domain::query::RawQuery;
use rocket::request::{FromRequest, Outcome, Request};

/// A request's query string, read strictly by the handler (see
/// [`RawQuery`]): every parameter is taken by name, and whatever nobody
/// took is a 400 naming it.
#[derive(Debug, Default)]
pub(crate) struct Query(pub RawQuery);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Query {
    type Error = Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Infallible> {
        let text = req.uri().query().map_or("", |q| q.as_str());
        Outcome::Success(Query(RawQuery::parse(text)))
    }
}

impl std::ops::Deref for Query {
    type Target = RawQuery;

    fn deref(&self) -> &RawQuery {
        &self.0
    }
}

impl std::ops::DerefMut for Query {
    fn deref_mut(&mut self) -> &mut RawQuery {
        &mut self.0
    }
}
