//! `POST /v1/admin/backup` `{"dir": "/abs/path"}` (admin only): an online,
//! consistent checkpoint of the engine's store into a new directory on the
//! engine's machine, with its manifest ([`touchline_store::BackupManifest`]).
//! Writes wait while the checkpoint is taken (a memtable flush and hard links);
//! reads and the API go on. `touchline backup DIR` calls it.

use std::path::PathBuf;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use touchline_store::{BackupManifest, StoreError};

use crate::{ApiError, AppState, blocking};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupRequest {
    dir: PathBuf,
}

#[derive(Debug, Serialize)]
pub(crate) struct BackupTaken {
    /// Where the backup is, on the engine's machine.
    dir: PathBuf,
    #[serde(flatten)]
    manifest: BackupManifest,
}

pub(crate) async fn backup(
    State(state): State<AppState>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<BackupTaken>), ApiError> {
    let limit = state.max_body_bytes;
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| ApiError::bad_request(format!("body: cannot be read: {e}")))?;
    let request: BackupRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "body: {e} (expected {{\"dir\": \"/absolute/path/on/the/engine's/machine\"}})"
        ))
    })?;
    if !request.dir.is_absolute() {
        return Err(ApiError::bad_request(format!(
            "dir: {:?} is not an absolute path (the backup is written on the engine's machine)",
            request.dir
        )));
    }
    let store = state
        .queries
        .single_store()
        .ok_or_else(|| crate::error::sharded_instance("a backup"))?
        .clone();
    blocking(move || {
        let dir = request.dir;
        match store.backup(&dir) {
            Ok(manifest) => {
                tracing::info!(dir = %dir.display(), next_seq = manifest.next_seq, "backup taken");
                Ok((StatusCode::CREATED, Json(BackupTaken { dir, manifest })))
            }
            Err(e @ StoreError::Backup { .. }) => Err(ApiError {
                status: StatusCode::CONFLICT,
                message: format!("dir: {e}"),
                param: None,
            }),
            Err(e) => {
                tracing::error!(error = %e, dir = %dir.display(), "backup failed");
                Err(ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: format!("the backup failed: {e}"),
                    param: None,
                })
            }
        }
    })
    .await
}
