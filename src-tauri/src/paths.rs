//! Where the database lives: `--db PATH`, else `CHIPBENCH_DB`, else the app data dir
//! (Linux: `~/.local/share/dev.chipbench.app/chipbench.db`), shared by the window and `--batch`;
//! and where settings and keys live.

use std::path::PathBuf;

/// Must equal `identifier` in tauri.conf.json, so the window and the CLI find the same file.
pub const IDENTIFIER: &str = "dev.chipbench.app";

pub fn database(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("CHIPBENCH_DB").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join(IDENTIFIER).join("chipbench.db"))
}

/// Settings and API keys: `CHIPBENCH_CONFIG_DIR`, else the app config dir
/// (Linux: `~/.config/dev.chipbench.app/`).
pub fn config_dir() -> PathBuf {
    std::env::var_os("CHIPBENCH_CONFIG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join(IDENTIFIER))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_identifier_matches_the_tauri_config() {
        let conf: serde_json::Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        assert_eq!(conf["identifier"], super::IDENTIFIER, "the CLI and the window must open the same database");
    }
}
