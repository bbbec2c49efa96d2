//! One error type for the shell: a SQLSTATE, a message that says what was wrong, and a
//! hint that says what to do. Converted to an `ErrorReport` at the pgrx boundary, so every
//! refusal reaches the client with a proper code instead of XX000.
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::PgSqlErrorCode;
use std::fmt;

#[derive(Debug, Clone)]
pub struct MeError {
    pub code: PgSqlErrorCode,
    pub message: String,
    pub hint: Option<String>,
    pub detail: Option<String>,
}

/// What a `#[pg_extern]` returns: an error report PostgreSQL raises as itself.
pub type PgResult<T> = Result<T, pgrx::pg_sys::panic::ErrorReport>;
pub type MeResult<T> = Result<T, MeError>;

/// The error code of a five-character SQLSTATE (PostgreSQL's MAKE_SQLSTATE packing);
/// P0001 (raise_exception) for anything that is not one, or that PostgreSQL does not know.
pub fn code_of_sqlstate(sqlstate: &str) -> PgSqlErrorCode {
    let bytes = sqlstate.as_bytes();
    if bytes.len() != 5
        || !bytes
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return PgSqlErrorCode::ERRCODE_RAISE_EXCEPTION;
    }
    let packed = bytes.iter().enumerate().fold(0i32, |acc, (i, b)| {
        acc | ((((*b - b'0') & 0x3F) as i32) << (6 * i))
    });
    match PgSqlErrorCode::from(packed) {
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION => PgSqlErrorCode::ERRCODE_RAISE_EXCEPTION,
        // pgrx maps a code it does not know to XX000
        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR if sqlstate != "XX000" => {
            PgSqlErrorCode::ERRCODE_RAISE_EXCEPTION
        }
        code => code,
    }
}

impl MeError {
    pub fn new(code: PgSqlErrorCode, message: impl Into<String>) -> Self {
        MeError {
            code,
            message: message.into(),
            hint: None,
            detail: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message)
    }
    pub fn invalid_name(message: impl Into<String>) -> Self {
        Self::new(PgSqlErrorCode::ERRCODE_INVALID_NAME, message)
    }
    pub fn undefined_object(message: impl Into<String>) -> Self {
        Self::new(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, message)
    }
    pub fn duplicate_object(message: impl Into<String>) -> Self {
        Self::new(PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT, message)
    }
    pub fn prerequisite(message: impl Into<String>) -> Self {
        Self::new(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            message,
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, message)
    }
}

impl fmt::Display for MeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

impl From<MeError> for ErrorReport {
    fn from(e: MeError) -> Self {
        let mut report = ErrorReport::new(e.code, e.message, "migration_engine");
        if let Some(hint) = e.hint {
            report = report.set_hint(hint);
        }
        if let Some(detail) = e.detail {
            report = report.set_detail(detail);
        }
        report
    }
}

impl From<pgrx::spi::Error> for MeError {
    fn from(e: pgrx::spi::Error) -> Self {
        MeError::internal(format!("SPI error: {e}"))
    }
}

/// The refusal of a NULL where `what` (an argument's name) needs a value.
pub fn null_refusal(what: &str) -> MeError {
    MeError::new(
        PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        format!("{what} must not be NULL"),
    )
    .hint(format!(
        "Pass a value for {what}; see the function's documentation for what it takes."
    ))
}
