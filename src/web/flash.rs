//! One-line messages that survive one redirect: "✓ negative saved", "that item was already
//! labelled in another tab". Kept in the session and taken when the next page renders.

use tower_sessions::Session;

use crate::error::Result;
use crate::web::csrf::to_app_error;

const FLASH_KEY: &str = "flash";

/// A message for the next page: what happened and whether it went well.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    pub text: String,
    pub ok: bool,
    /// Where undo goes (the item just labelled), when there is an undo.
    #[serde(default)]
    pub undo: Option<String>,
}

pub async fn set(session: &Session, flash: Flash) -> Result<()> {
    session.insert(FLASH_KEY, flash).await.map_err(to_app_error)
}

/// Takes the message, so it shows once.
pub async fn take(session: &Session) -> Result<Option<Flash>> {
    session
        .remove::<Flash>(FLASH_KEY)
        .await
        .map_err(to_app_error)
}
