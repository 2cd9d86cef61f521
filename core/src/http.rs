//! One HTTP exchange with a deadline, its failures classified for [`crate::llm::retry`]:
//! connection and timeout failures, 429 with its `Retry-After`, 5xx, refused credentials, other
//! refusals. Both HTTP clients use it: the OpenAI-compatible provider and the Langfuse importer.

use std::time::{Duration, SystemTime};

use crate::llm::{retry::parse_retry_after, FailureKind, LlmError};

/// Sends `request` and returns the body of a 2xx answer; anything else is an `LlmError` of the
/// matching kind (a 429 or 503 carries the server's `Retry-After`). `host` names the server in
/// a timeout's message.
pub async fn exchange(request: reqwest::RequestBuilder, timeout: Duration, host: &str) -> Result<String, LlmError> {
    let exchange = async {
        let resp = request.send().await.map_err(transport_error)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let text = resp.text().await.map_err(transport_error)?;
        Ok::<_, LlmError>((status, retry_after, text))
    };
    let (status, retry_after, text) = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| LlmError::new(FailureKind::Timeout, format!("no answer from {host} within {}s", timeout.as_secs())))??;
    if !status.is_success() {
        return Err(LlmError { retry_after, ..status_error(status, &text) });
    }
    Ok(text)
}

fn transport_error(e: reqwest::Error) -> LlmError {
    let kind = if e.is_timeout() { FailureKind::Timeout } else { FailureKind::Connect };
    // reqwest's Display omits the cause chain ("error sending request"); keep the root cause.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    LlmError::new(kind, message)
}

fn status_error(status: reqwest::StatusCode, body: &str) -> LlmError {
    let kind = match status.as_u16() {
        401 | 403 => FailureKind::Auth,
        408 => FailureKind::Timeout,
        429 => FailureKind::RateLimited,
        500..=599 => FailureKind::Server,
        _ => FailureKind::Rejected,
    };
    let detail: String = body.chars().take(300).collect();
    LlmError::new(kind, format!("HTTP {status}: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_failure_kinds() {
        use reqwest::StatusCode as S;
        let kind = |s| status_error(s, "").kind;
        assert_eq!(kind(S::UNAUTHORIZED), FailureKind::Auth);
        assert_eq!(kind(S::TOO_MANY_REQUESTS), FailureKind::RateLimited);
        assert_eq!(kind(S::BAD_GATEWAY), FailureKind::Server);
        assert_eq!(kind(S::NOT_FOUND), FailureKind::Rejected);
    }
}
