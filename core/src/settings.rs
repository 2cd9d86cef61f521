//! Installation settings, kept as files in the app's config dir, never in the (synced) database:
//! `settings.json` (rater, default concurrency, provider base URLs, sync and Langfuse settings) and
//! `secrets.json` (API keys, the Turso token, the Langfuse secret key; mode 0600, written
//! atomically). Environment variables override both ([`LayeredEnv`]). Keys leave this module only
//! inside an [`Env`] for the providers, or masked.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::llm::{settings::Env, ProviderKind};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Settings {
    /// Who rates in the window; None: git `user.email`, else `user@host`.
    pub rater: Option<String>,
    pub default_concurrency: Option<u32>,
    pub openrouter_base_url: Option<String>,
    pub openai_base_url: Option<String>,
    /// The shared Turso database (`TURSO_DATABASE_URL` overrides it); None: no sync.
    #[serde(default)]
    pub turso_database_url: Option<String>,
    /// Seconds between background syncs; None: 60; 0: off ("sync now" still works).
    #[serde(default)]
    pub sync_interval_secs: Option<u32>,
    /// Also sync demo (mock) runs; they stay local by default.
    #[serde(default)]
    pub sync_demo_runs: bool,
    /// Leave spans' prompts and responses out of sync (their figures still sync).
    #[serde(default)]
    pub sync_without_span_payloads: bool,
    /// Langfuse's API (`LANGFUSE_BASE_URL` overrides it); None: Langfuse Cloud.
    #[serde(default)]
    pub langfuse_base_url: Option<String>,
    /// The project's public key (`LANGFUSE_PUBLIC_KEY`); the secret key is kept with the secrets.
    #[serde(default)]
    pub langfuse_public_key: Option<String>,
    /// Seconds between background imports; None: 300; 0: off ("import now" still works).
    #[serde(default)]
    pub langfuse_import_interval_secs: Option<u32>,
}

pub const DEFAULT_SYNC_INTERVAL_SECS: u32 = 60;
pub const DEFAULT_LANGFUSE_INTERVAL_SECS: u32 = 300;

#[derive(Default, Clone, Serialize, Deserialize)]
struct Secrets {
    openrouter_api_key: Option<String>,
    openai_api_key: Option<String>,
    #[serde(default)]
    turso_auth_token: Option<String>,
    #[serde(default)]
    langfuse_secret_key: Option<String>,
}

/// The secrets besides the providers' API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    TursoAuthToken,
    LangfuseSecretKey,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsFileError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read or write {path}: {reason}")]
    Io { path: String, reason: String },
}

impl crate::error::Coded for SettingsFileError {
    fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Invalid(_) => crate::ErrorCode::Validation,
            Self::Io { .. } => crate::ErrorCode::Config,
        }
    }
}

type Result<T> = std::result::Result<T, SettingsFileError>;

/// The two files in one directory.
#[derive(Debug, Clone)]
pub struct SettingsFiles {
    dir: PathBuf,
}

/// The environment variable that overrides each stored key or URL.
const KEY_VARS: [(ProviderKind, &str); 2] = [(ProviderKind::Openrouter, "OPENROUTER_API_KEY"), (ProviderKind::Openai, "OPENAI_API_KEY")];

impl SettingsFiles {
    pub fn new(dir: impl Into<PathBuf>) -> SettingsFiles {
        SettingsFiles { dir: dir.into() }
    }

    fn io(path: &Path, e: impl std::fmt::Display) -> SettingsFileError {
        SettingsFileError::Io { path: path.display().to_string(), reason: e.to_string() }
    }

    fn read<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Self::io(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(Self::io(&path, e)),
        }
    }

    /// Writes a temporary file (created with `mode`) and renames it over the old one.
    fn write<T: Serialize>(&self, name: &str, value: &T, mode: u32) -> Result<()> {
        let path = self.dir.join(name);
        std::fs::create_dir_all(&self.dir).map_err(|e| Self::io(&self.dir, e))?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&tmp).map_err(|e| Self::io(&tmp, e))?;
        file.write_all(serde_json::to_string_pretty(value).expect("serialisable").as_bytes()).map_err(|e| Self::io(&tmp, e))?;
        file.sync_all().map_err(|e| Self::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Self::io(&path, e))
    }

    pub fn load(&self) -> Result<Settings> {
        self.read("settings.json")
    }

    /// Validates and stores the settings; nothing is written when a field is invalid.
    pub fn save(&self, s: &Settings) -> Result<()> {
        let invalid = |m: String| Err(SettingsFileError::Invalid(m));
        if let Some(r) = &s.rater {
            if r.trim().is_empty() {
                return invalid("rater: must not be empty (leave it unset for the default)".into());
            }
        }
        if s.default_concurrency == Some(0) {
            return invalid("default concurrency: 0 must be at least 1".into());
        }
        for (field, url) in [("openrouter base URL", &s.openrouter_base_url), ("openai base URL", &s.openai_base_url)] {
            if let Some(u) = url.as_deref().filter(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
                return invalid(format!("{field}: `{u}` must start with http:// or https://"));
            }
        }
        if let Some(u) = s.turso_database_url.as_deref().filter(|u| !["libsql://", "https://", "http://"].iter().any(|p| u.starts_with(p))) {
            return invalid(format!("Turso database URL: `{u}` must start with libsql://, https:// or http://"));
        }
        if let Some(u) = s.langfuse_base_url.as_deref().filter(|u| !(u.starts_with("http://") || u.starts_with("https://"))) {
            return invalid(format!("Langfuse URL: `{u}` must start with http:// or https://"));
        }
        self.write("settings.json", s, 0o644)
    }

    /// Stores (or with None removes) a provider's API key, in a file only the user can read.
    pub fn set_key(&self, provider: ProviderKind, key: Option<&str>) -> Result<()> {
        let mut secrets: Secrets = self.read("secrets.json")?;
        let key = key.map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned);
        match provider {
            ProviderKind::Openrouter => secrets.openrouter_api_key = key,
            ProviderKind::Openai => secrets.openai_api_key = key,
            ProviderKind::Mock => return Err(SettingsFileError::Invalid("the mock provider takes no key".into())),
        }
        self.write("secrets.json", &secrets, 0o600)
    }

    /// Stores (or with None removes) a secret, beside the API keys (mode 0600).
    pub fn set_secret(&self, secret: Secret, value: Option<&str>) -> Result<()> {
        let mut secrets: Secrets = self.read("secrets.json")?;
        let value = value.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        match secret {
            Secret::TursoAuthToken => secrets.turso_auth_token = value,
            Secret::LangfuseSecretKey => secrets.langfuse_secret_key = value,
        }
        self.write("secrets.json", &secrets, 0o600)
    }

    /// The process environment over the stored settings and keys.
    pub fn env(&self, process: Arc<dyn Env>) -> Result<LayeredEnv> {
        Ok(LayeredEnv { process, settings: self.load()?, secrets: self.read("secrets.json")? })
    }
}

/// Environment variables first, then what the user stored.
pub struct LayeredEnv {
    process: Arc<dyn Env>,
    settings: Settings,
    secrets: Secrets,
}

/// Where a provider's key comes from, and the key masked for display.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct KeyStatus {
    pub provider: ProviderKind,
    /// "environment", "settings", or None when no key is set.
    pub source: Option<String>,
    pub masked: Option<String>,
}

/// A secret's origin ("environment", "settings", or None when unset) and its masked form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SecretStatus {
    pub source: Option<String>,
    pub masked: Option<String>,
}

impl LayeredEnv {
    fn stored(&self, name: &str) -> Option<String> {
        match name {
            "OPENROUTER_API_KEY" => self.secrets.openrouter_api_key.clone(),
            "OPENAI_API_KEY" => self.secrets.openai_api_key.clone(),
            "OPENROUTER_BASE_URL" => self.settings.openrouter_base_url.clone(),
            "OPENAI_BASE_URL" => self.settings.openai_base_url.clone(),
            "TURSO_DATABASE_URL" => self.settings.turso_database_url.clone(),
            "TURSO_AUTH_TOKEN" => self.secrets.turso_auth_token.clone(),
            "LANGFUSE_BASE_URL" => self.settings.langfuse_base_url.clone(),
            "LANGFUSE_PUBLIC_KEY" => self.settings.langfuse_public_key.clone(),
            "LANGFUSE_SECRET_KEY" => self.secrets.langfuse_secret_key.clone(),
            _ => None,
        }
    }

    pub fn key_status(&self) -> Vec<KeyStatus> {
        KEY_VARS
            .iter()
            .map(|&(provider, var)| {
                let SecretStatus { source, masked } = self.secret_status(var);
                KeyStatus { provider, source, masked }
            })
            .collect()
    }

    /// Where a secret comes from, and the secret masked.
    pub fn secret_status(&self, var: &str) -> SecretStatus {
        let (source, secret) = match (self.process.var(var), self.stored(var)) {
            (Some(k), _) => (Some("environment".to_owned()), Some(k)),
            (None, Some(k)) => (Some("settings".to_owned()), Some(k)),
            (None, None) => (None, None),
        };
        SecretStatus { source, masked: secret.as_deref().map(mask) }
    }
}

impl Env for LayeredEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.process.var(name).or_else(|| self.stored(name))
    }
}

/// A key for display: its first 6 and last 4 characters, never the whole key.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "•".repeat(8);
    }
    format!("{}…{}", chars[..6].iter().collect::<String>(), chars[chars.len() - 4..].iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;


    #[test]
    fn keys_are_stored_mode_0600_and_shown_masked() {
        let dir = tempfile::tempdir().unwrap();
        let files = SettingsFiles::new(dir.path());
        files.set_key(ProviderKind::Openrouter, Some("sk-or-v1-0123456789abcdef")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.json")).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "only the user can read the keys");
        }
        let env = files.env(Arc::new(HashMap::<&'static str, &'static str>::new())).unwrap();
        assert_eq!(env.var("OPENROUTER_API_KEY").as_deref(), Some("sk-or-v1-0123456789abcdef"));
        let status = env.key_status();
        assert_eq!(status[0].masked.as_deref(), Some("sk-or-…cdef"));
        assert!(!serde_json::to_string(&status).unwrap().contains("0123456789"), "the status never carries the key");
        files.set_key(ProviderKind::Openrouter, None).unwrap();
        assert_eq!(files.env(Arc::new(HashMap::<&'static str, &'static str>::new())).unwrap().var("OPENROUTER_API_KEY"), None);
    }

    #[test]
    fn environment_variables_override_stored_values() {
        let dir = tempfile::tempdir().unwrap();
        let files = SettingsFiles::new(dir.path());
        files.set_key(ProviderKind::Openai, Some("stored-key-1234567890")).unwrap();
        files.save(&Settings { openai_base_url: Some("http://stored/v1".into()), ..Settings::default() }).unwrap();
        let env = files.env(Arc::new(HashMap::from([("OPENAI_API_KEY", "env-key-abcdefghijkl")]))).unwrap();
        assert_eq!(env.var("OPENAI_API_KEY").as_deref(), Some("env-key-abcdefghijkl"));
        assert_eq!(env.var("OPENAI_BASE_URL").as_deref(), Some("http://stored/v1"));
        assert_eq!(env.key_status()[1].source.as_deref(), Some("environment"));
    }

    #[test]
    fn invalid_settings_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let files = SettingsFiles::new(dir.path());
        files.save(&Settings { default_concurrency: Some(8), ..Settings::default() }).unwrap();
        let cases = [
            (Settings { default_concurrency: Some(0), ..Settings::default() }, "default concurrency: 0 must be at least 1"),
            (Settings { rater: Some("  ".into()), ..Settings::default() }, "rater: must not be empty"),
            (Settings { openai_base_url: Some("localhost:8080".into()), ..Settings::default() }, "openai base URL: `localhost:8080` must start with http://"),
        ];
        for (bad, message) in cases {
            let err = files.save(&bad).unwrap_err();
            assert!(err.to_string().starts_with(message), "{err}");
        }
        assert_eq!(files.load().unwrap().default_concurrency, Some(8), "the stored settings are unchanged");
        assert!(files.set_key(ProviderKind::Mock, Some("x")).is_err());
        let bad_url = Settings { turso_database_url: Some("turso.example".into()), ..Settings::default() };
        assert_eq!(files.save(&bad_url).unwrap_err().to_string(), "Turso database URL: `turso.example` must start with libsql://, https:// or http://");
        let bad_langfuse = Settings { langfuse_base_url: Some("cloud.langfuse.com".into()), ..Settings::default() };
        assert_eq!(files.save(&bad_langfuse).unwrap_err().to_string(), "Langfuse URL: `cloud.langfuse.com` must start with http:// or https://");
    }

    #[test]
    fn the_turso_token_is_a_secret_like_the_keys() {
        let dir = tempfile::tempdir().unwrap();
        let files = SettingsFiles::new(dir.path());
        files.set_secret(Secret::TursoAuthToken, Some("eyJhbGciOiJFZERTQSJ9.token-body")).unwrap();
        files.set_secret(Secret::LangfuseSecretKey, Some("sk-lf-0123456789abcdef")).unwrap();
        files.save(&Settings { turso_database_url: Some("libsql://team.turso.io".into()), ..Settings::default() }).unwrap();
        let env = files.env(Arc::new(HashMap::<&'static str, &'static str>::new())).unwrap();
        assert_eq!(env.var("TURSO_AUTH_TOKEN").as_deref(), Some("eyJhbGciOiJFZERTQSJ9.token-body"));
        assert_eq!(env.var("TURSO_DATABASE_URL").as_deref(), Some("libsql://team.turso.io"));
        assert_eq!(env.secret_status("TURSO_AUTH_TOKEN").masked.as_deref(), Some("eyJhbG…body"));
        assert!(!std::fs::read_to_string(dir.path().join("settings.json")).unwrap().contains("token-body"), "the token is not in settings.json");
        assert_eq!(env.var("LANGFUSE_SECRET_KEY").as_deref(), Some("sk-lf-0123456789abcdef"), "nor the Langfuse secret key");
        assert_eq!(env.secret_status("LANGFUSE_SECRET_KEY").masked.as_deref(), Some("sk-lf-…cdef"));
    }

    #[test]
    fn short_keys_are_fully_hidden() {
        assert_eq!(mask("abc"), "••••••••");
    }
}
