//! Which provider to use and how to reach it: explicit choice, else OpenRouter when
//! `OPENROUTER_API_KEY` is set, else the offline mock. Keys come from the environment here;
//! they are never logged, stored in the database, or shown (see [`ProviderSettings`]'s Debug).

use super::{mock::MockConfig, openai::OpenAiClient, openai::OPENROUTER_BASE_URL, Provider, ProviderKind};

#[derive(Clone, PartialEq)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub mock: MockConfig,
}

impl std::fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SettingsError {
    // Read by the CLI and the window alike: both ways to set it, and the offline alternative.
    #[error("OPENROUTER_API_KEY is not set; export OPENROUTER_API_KEY=<your key> or paste it in Settings > API keys (keys: https://openrouter.ai/keys), or use the mock provider (`--provider mock`) for an offline demo run")]
    MissingOpenRouterKey,
    #[error("the openai provider needs a base URL: pass --base-url http://127.0.0.1:8080/v1, set OPENAI_BASE_URL, or fill Settings > OpenAI-compatible base URL")]
    MissingBaseUrl,
    #[error("base URL `{0}` must start with http:// or https://")]
    BadBaseUrl(String),
    #[error("{0}")]
    Mock(String),
}

impl crate::error::Coded for SettingsError {
    fn code(&self) -> crate::ErrorCode {
        crate::ErrorCode::Config
    }
}

/// Environment lookups, injectable for tests.
pub trait Env: Send + Sync {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

/// Tests give the environment as a map.
#[cfg(any(test, feature = "test-support"))]
impl Env for std::collections::HashMap<&'static str, &'static str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.to_string())
    }
}

impl ProviderSettings {
    pub fn resolve(kind: Option<ProviderKind>, base_url: Option<String>, env: &dyn Env) -> Result<ProviderSettings, SettingsError> {
        let kind = kind.unwrap_or(if env.var("OPENROUTER_API_KEY").is_some() { ProviderKind::Openrouter } else { ProviderKind::Mock });
        let (base_url, api_key) = match kind {
            ProviderKind::Openrouter => {
                let key = env.var("OPENROUTER_API_KEY").ok_or(SettingsError::MissingOpenRouterKey)?;
                (Some(base_url.or_else(|| env.var("OPENROUTER_BASE_URL")).unwrap_or_else(|| OPENROUTER_BASE_URL.into())), Some(key))
            }
            ProviderKind::Openai => {
                (Some(base_url.or_else(|| env.var("OPENAI_BASE_URL")).ok_or(SettingsError::MissingBaseUrl)?), env.var("OPENAI_API_KEY"))
            }
            ProviderKind::Mock => (None, None),
        };
        if let Some(url) = base_url.as_deref().filter(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return Err(SettingsError::BadBaseUrl(url.to_owned()));
        }
        let mock = if kind == ProviderKind::Mock { MockConfig::from_env(env).map_err(SettingsError::Mock)? } else { MockConfig::default() };
        Ok(ProviderSettings { kind, base_url, api_key, mock })
    }

    /// A typical call's latency, for estimates: the mock's mean profile latency, else 4 s.
    pub fn typical_call_secs(&self) -> f64 {
        match self.kind {
            ProviderKind::Mock => super::mock::Profile::MEAN_LATENCY_MS / 1e3 * self.mock.latency_scale,
            _ => 4.0,
        }
    }

    pub fn build(&self) -> Provider {
        match self.kind {
            ProviderKind::Mock => Provider::Mock(super::mock::MockProvider::new(self.mock.clone())),
            kind => Provider::OpenAi(OpenAiClient::new(kind, self.base_url.as_deref().expect("resolved with a URL"), self.api_key.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;


    #[test]
    fn defaults_follow_the_key() {
        let none = HashMap::new();
        assert_eq!(ProviderSettings::resolve(None, None, &none).unwrap().kind, ProviderKind::Mock, "no key: offline mock");
        let keyed = HashMap::from([("OPENROUTER_API_KEY", "sk-or-x")]);
        let s = ProviderSettings::resolve(None, None, &keyed).unwrap();
        assert_eq!((s.kind, s.base_url.as_deref()), (ProviderKind::Openrouter, Some(OPENROUTER_BASE_URL)));
        assert!(!format!("{s:?}").contains("sk-or-x"), "Debug never shows the key");
    }

    #[test]
    fn mock_tuning_is_validated() {
        let bad = HashMap::from([("CHIPBENCH_MOCK_FAULT_RATE", "2")]);
        let err = ProviderSettings::resolve(Some(ProviderKind::Mock), None, &bad).unwrap_err();
        assert_eq!(err.to_string(), "CHIPBENCH_MOCK_FAULT_RATE=\"2\" is not a number between 0 and 1");
        let fast = HashMap::from([("CHIPBENCH_MOCK_LATENCY_SCALE", "0")]);
        assert_eq!(ProviderSettings::resolve(None, None, &fast).unwrap().mock.latency_scale, 0.0);
    }

    #[test]
    fn missing_configuration_says_how_to_fix_it() {
        let none = HashMap::new();
        let err = ProviderSettings::resolve(Some(ProviderKind::Openrouter), None, &none).unwrap_err();
        assert!(err.to_string().contains("export OPENROUTER_API_KEY") && err.to_string().contains("--provider mock"));
        assert_eq!(ProviderSettings::resolve(Some(ProviderKind::Openai), None, &none).unwrap_err(), SettingsError::MissingBaseUrl);
        let bad = ProviderSettings::resolve(Some(ProviderKind::Openai), Some("localhost:8080".into()), &none).unwrap_err();
        assert_eq!(bad.to_string(), "base URL `localhost:8080` must start with http:// or https://");
    }
}
