use guanxi_core::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The caller can see the record but may not change it.
    #[error("not allowed")]
    Forbidden,
    /// The record changed since the caller read it (optimistic locking).
    #[error("version mismatch: the record is at version {current}")]
    VersionMismatch { current: i64 },
    /// A unique value is already taken; `field` names the input field when known.
    #[error("{field} is already in use")]
    Duplicate { field: &'static str },
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The request cannot be carried out in the record's current state (undoing a merge whose survivor changed
    /// since); the text says why.
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Duplicate`]; matches the error kind, not constraint
    /// names, because SQLite reports none.
    pub(crate) fn unique_as(e: sqlx::Error, field: &'static str) -> StoreError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate { field },
            _ => StoreError::Database(e),
        }
    }
}
