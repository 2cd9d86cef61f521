//! A client for Langfuse's public API (`/api/public/...`), as its documentation describes it:
//! Basic auth with the public key as user and the secret key as password, pages of
//! `{data, meta: {page, limit, totalItems, totalPages}}` numbered from 1, traces filtered by
//! `fromTimestamp` and observations by `fromStartTime`. Each request has a 30 s timeout and is
//! retried on 429 (honouring `Retry-After`), 5xx and connection failures with exponential
//! backoff, at most 5 retries; a polite delay separates pages.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::LangfuseError;
use crate::llm::{retry::with_retries, settings::Env, FailureKind, LlmError, RetryPolicy};

pub const DEFAULT_BASE_URL: &str = "https://cloud.langfuse.com";
/// Langfuse's largest page.
pub const PAGE_SIZE: u32 = 100;

/// One page of a list endpoint. Items stay JSON: the importer keeps what it can read of each.
#[derive(Debug, Clone, Deserialize)]
pub struct Page {
    pub data: Vec<Value>,
    pub meta: Meta,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub page: u64,
    pub total_items: u64,
    pub total_pages: u64,
}

pub struct Client {
    http: reqwest::Client,
    base_url: String,
    public_key: String,
    secret_key: String,
    pub policy: RetryPolicy,
    /// Waited between two pages of a listing.
    pub page_delay: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base_url", &self.base_url).field("public_key", &self.public_key).field("secret_key", &"***").finish()
    }
}

impl Client {
    /// From `LANGFUSE_PUBLIC_KEY`, `LANGFUSE_SECRET_KEY`, `LANGFUSE_BASE_URL` (default Langfuse
    /// Cloud) and `LANGFUSE_PAGE_DELAY_MS` (default 300).
    pub fn from_env(env: &dyn Env) -> Result<Client, LangfuseError> {
        let key = |name: &str| env.var(name).ok_or_else(|| LangfuseError::Config(format!("{name} is not set; add the project's API keys in Settings or the environment")));
        let (public_key, secret_key) = (key("LANGFUSE_PUBLIC_KEY")?, key("LANGFUSE_SECRET_KEY")?);
        let base_url = env.var("LANGFUSE_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.into());
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(LangfuseError::Config(format!("LANGFUSE_BASE_URL: `{base_url}` is not an http:// or https:// URL")));
        }
        let delay = match env.var("LANGFUSE_PAGE_DELAY_MS") {
            None => 300,
            Some(v) => v.parse::<u64>().map_err(|_| LangfuseError::Config(format!("LANGFUSE_PAGE_DELAY_MS: `{v}` is not a whole number of milliseconds")))?,
        };
        let mut client = Client::new(&base_url, &public_key, &secret_key);
        client.page_delay = Duration::from_millis(delay);
        Ok(client)
    }

    pub fn new(base_url: &str, public_key: &str, secret_key: &str) -> Client {
        Client {
            http: reqwest::Client::builder().build().expect("an HTTP client"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            public_key: public_key.to_owned(),
            secret_key: secret_key.to_owned(),
            // At most 5 retries, each request answered within 30 s.
            policy: RetryPolicy { max_attempts: 6, base_delay: Duration::from_secs(1), attempt_timeout: Duration::from_secs(30), ..RetryPolicy::default() },
            page_delay: Duration::from_millis(300),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Page `page` (from 1) of `GET /api/public/{list}` with these query parameters.
    pub async fn page(&self, list: &str, page: u64, query: &[(&str, String)], cancel: &CancellationToken) -> Result<Page, LangfuseError> {
        let url = format!("{}/api/public/{list}", self.base_url);
        let (page, _) = with_retries(&self.policy, cancel, |_| async {
            let request = self.http.get(&url).basic_auth(&self.public_key, Some(&self.secret_key)).query(&[("page", page.to_string()), ("limit", PAGE_SIZE.to_string())]).query(query);
            let body = crate::http::exchange(request, self.policy.attempt_timeout, &self.base_url).await?;
            serde_json::from_str::<Page>(&body).map_err(|e| LlmError::new(FailureKind::Server, format!("{url}: the page is not {{data, meta}}: {e}")))
        })
        .await
        .map_err(LangfuseError::from_http)?;
        Ok(page)
    }
}
