//! The route table: every route is declared once with its method, its path and who may call
//! it. The router is built from the table, and the table is public, so the authorization
//! matrix test walks every route there is: a new route cannot be missed.

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::Router;

use super::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in, health checks, static files, the product's users' links.
    Public,
    /// Any signed-in account, the product's users included.
    SignedIn,
    /// Any account made by an admin (not the product's users, not feedback keys).
    Account,
    /// Admins only.
    Admin,
    /// A rater who may work on the project `{pid}`; a pause does not matter (reads).
    ProjectRater,
    /// A rater who may work on the project `{pid}` and is not paused there.
    ProjectWork,
    /// A rater who may work on the project `{pid}` (paused or not), or an admin: who may
    /// see what the project shows its raters.
    ProjectViewer,
    /// An admin, a reviewer, or a rater the project `{pid}` names as its reviewer.
    ProjectReviewer,
    /// A feedback key of the project `{pid}`.
    FeedbackKey,
    /// An admin, or the metrics scrape token (`--metrics-token`).
    Scraper,
}

/// One declared route.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// A router and the list of what it serves, built together.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    list: Vec<RouteInfo>,
}

macro_rules! method {
    ($name:ident, $method:expr) => {
        pub fn $name<H, T>(self, path: &'static str, access: Access, handler: H) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add($method, path, access, routing::$name(handler))
        }
    };
}

impl Routes {
    method!(get, Method::GET);
    method!(post, Method::POST);
    method!(put, Method::PUT);
    method!(delete, Method::DELETE);
    method!(patch, Method::PATCH);

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        // axum merges method routers given for the same path.
        self.router = self.router.route(path, method_router);
        self.list.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }

    /// Applies a layer to every route declared so far.
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Error:
            Into<std::convert::Infallible> + 'static,
        <L::Service as tower::Service<axum::extract::Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.list.extend(other.list);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.list)
    }
}

/// Every route of the application, with who may call it.
pub fn route_list() -> Vec<RouteInfo> {
    all_routes().into_parts().1
}

/// Pages, the JSON API and static files, in one table.
pub(super) fn all_routes() -> Routes {
    super::pages::routes()
        .merge(super::api::routes())
        .merge(super::assets::routes())
        .merge(super::media::routes())
        .merge(super::probes::routes())
}
