//! The API's one error type: a status and a JSON message naming what is wrong.

use super::*;

/// An error answer: a status and a message for the caller.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// The parameter at fault, as data: the answer carries it as a response
    /// extension, so an in-process caller (the CLI) names its flag without
    /// taking the message apart.
    pub(crate) param: Option<ParamError>,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            param: None,
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            param: None,
        }
    }
}

/// What a sharded instance cannot answer, since it is kept per shard's store:
/// the caller's 409, naming what and why.
pub(crate) fn sharded_instance(what: &str) -> ApiError {
    ApiError {
        status: StatusCode::CONFLICT,
        message: format!(
            "{what} is kept per store, and this instance reads the shards of a sharded group (kafka.shards > 0), each a store of its own"
        ),
        param: None,
    }
}

/// What only an instance of a sharded group answers: 409.
pub(crate) fn sharded_only() -> ApiError {
    ApiError {
        status: StatusCode::CONFLICT,
        message: "this instance is not part of a sharded group (kafka.shards = 0): it holds no shards to read".into(),
        param: None,
    }
}

/// A bad parameter is the caller's 400, its message naming the parameter.
impl From<ParamError> for ApiError {
    fn from(e: ParamError) -> Self {
        ApiError {
            param: Some(e.clone()),
            ..ApiError::bad_request(e.to_string())
        }
    }
}

impl From<touchline_engine::EngineError> for ApiError {
    fn from(e: touchline_engine::EngineError) -> Self {
        // Another instance's shard: it is moving, or its holder is down.
        if let touchline_engine::EngineError::Store(
            remote @ touchline_store::StoreError::Remote { .. },
        ) = &e
        {
            tracing::warn!(error = %remote, "a shard held elsewhere could not be read");
            return ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!("{remote}; ask again shortly"),
                param: None,
            };
        }
        tracing::error!(error = %e, "query failed");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the store could not answer: {e}"),
            param: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if let Some(param) = self.param {
            response.extensions_mut().insert(param);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::limits::RETRY_AFTER_SECS),
            );
        }
        response
    }
}
