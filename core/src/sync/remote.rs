//! The remote database over Hrana HTTP: `POST {url}/v2/pipeline` with the `libsql-hrana` message
//! types, the token as a bearer. Values cross as Hrana values; rusqlite values convert both ways.

use std::{sync::Arc, time::Duration};

use libsql_hrana::proto::{
    Batch, BatchResult, BatchStreamReq, ExecuteStreamReq, PipelineReqBody, PipelineRespBody, Stmt, StmtResult,
    StreamRequest, StreamResponse, StreamResult, Value,
};
use rusqlite::types::Value as Sql;

use super::SyncError;

/// A Turso (libSQL) database reached over HTTP.
#[derive(Clone)]
pub struct Remote {
    http: reqwest::Client,
    pipeline: String,
    token: Option<String>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("pipeline", &self.pipeline).field("token", &self.token.as_ref().map(|_| "***")).finish()
    }
}

impl Remote {
    /// `libsql://host` means `https://host`; `https://` and (for local servers) `http://` are taken
    /// as they are. Anything else is refused with the value named.
    pub fn new(url: &str, token: Option<String>) -> Result<Remote, SyncError> {
        let url = url.trim().trim_end_matches('/');
        let base = if let Some(host) = url.strip_prefix("libsql://") {
            format!("https://{host}")
        } else if url.starts_with("https://") || url.starts_with("http://") {
            url.to_owned()
        } else {
            return Err(SyncError::Config(format!(
                "TURSO_DATABASE_URL: `{url}` is not a libsql://, https:// or http:// URL"
            )));
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| SyncError::Config(format!("HTTP client: {e}")))?;
        Ok(Remote { http, pipeline: format!("{base}/v2/pipeline"), token: token.filter(|t| !t.is_empty()) })
    }

    /// Runs one statement (outside any transaction) and returns its rows.
    pub async fn execute(&self, stmt: Stmt) -> Result<StmtResult, SyncError> {
        match self.pipeline(StreamRequest::Execute(ExecuteStreamReq { stmt })).await? {
            StreamResponse::Execute(r) => Ok(r.result),
            other => Err(SyncError::Protocol(format!("expected an execute result, got {other:?}"))),
        }
    }

    /// Runs a batch; fails with the first failing step (its index in the batch) and its error.
    pub async fn batch(&self, batch: Batch) -> Result<BatchResult, SyncError> {
        let result = match self.pipeline(StreamRequest::Batch(BatchStreamReq { batch })).await? {
            StreamResponse::Batch(r) => r.result,
            other => return Err(SyncError::Protocol(format!("expected a batch result, got {other:?}"))),
        };
        if let Some((step, e)) = result.step_errors.iter().enumerate().find_map(|(i, e)| e.as_ref().map(|e| (i, e))) {
            return Err(SyncError::Refused { step, message: e.message.clone() });
        }
        Ok(result)
    }

    async fn pipeline(&self, request: StreamRequest) -> Result<StreamResponse, SyncError> {
        let body = PipelineReqBody { baton: None, requests: vec![request] };
        let mut req = self.http.post(&self.pipeline).json(&body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        // Errors name the endpoint, never the token (it is only ever in a header).
        let resp = req.send().await.map_err(|e| SyncError::Unreachable(format!("{}: {}", self.pipeline, e.without_url())))?;
        let status = resp.status();
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(SyncError::Auth { status: status.as_u16() });
        }
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(SyncError::Http { status: status.as_u16(), body: text.chars().take(300).collect() });
        }
        let body: PipelineRespBody = resp.json().await.map_err(|e| SyncError::Protocol(e.without_url().to_string()))?;
        match body.results.into_iter().next() {
            Some(StreamResult::Ok { response }) => Ok(response),
            Some(StreamResult::Error { error }) => Err(SyncError::Remote(error.message)),
            _ => Err(SyncError::Protocol("the pipeline answered no result".into())),
        }
    }
}

/// A statement with positional arguments.
pub fn stmt(sql: impl Into<String>, args: impl IntoIterator<Item = Sql>) -> Stmt {
    let mut s = Stmt::new(sql, true);
    for a in args {
        s.bind(to_hrana(a));
    }
    s
}

pub fn to_hrana(v: Sql) -> Value {
    match v {
        Sql::Null => Value::Null,
        Sql::Integer(value) => Value::Integer { value },
        Sql::Real(value) => Value::Float { value },
        Sql::Text(value) => Value::Text { value: Arc::from(value) },
        Sql::Blob(value) => Value::Blob { value: value.into() },
    }
}

pub fn from_hrana(v: Value) -> Sql {
    match v {
        Value::None | Value::Null => Sql::Null,
        Value::Integer { value } => Sql::Integer(value),
        Value::Float { value } => Sql::Real(value),
        Value::Text { value } => Sql::Text(value.to_string()),
        Value::Blob { value } => Sql::Blob(value.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_map_libsql_to_https_and_refuse_other_schemes() {
        let r = Remote::new("libsql://team.turso.io/", Some("secret-token".into())).unwrap();
        assert_eq!(r.pipeline, "https://team.turso.io/v2/pipeline");
        assert!(!format!("{r:?}").contains("secret-token"), "the token never reaches Debug");
        assert_eq!(Remote::new("http://127.0.0.1:8080", None).unwrap().pipeline, "http://127.0.0.1:8080/v2/pipeline");
        let err = Remote::new("ftp://x", None).unwrap_err().to_string();
        assert!(err.contains("TURSO_DATABASE_URL: `ftp://x`"), "{err}");
    }

    #[test]
    fn values_round_trip() {
        for v in [Sql::Null, Sql::Integer(-7), Sql::Real(0.1 + 0.2), Sql::Text("é".into()), Sql::Blob(vec![0, 255])] {
            assert_eq!(from_hrana(to_hrana(v.clone())), v);
        }
    }
}
