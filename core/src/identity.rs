//! Who is rating: git's `user.email` when set, else `user@host`, lowercased (CHIP_BENCHMARK.md).
//! The app can override it with a setting.

use std::process::Command;

/// Where the default comes from; injectable for tests.
pub trait Sources {
    fn git_email(&self) -> Option<String>;
    fn user(&self) -> Option<String>;
    fn host(&self) -> Option<String>;
}

pub struct System;

impl Sources for System {
    fn git_email(&self) -> Option<String> {
        let out = Command::new("git").args(["config", "--get", "user.email"]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn user(&self) -> Option<String> {
        std::env::var("USER").or_else(|_| std::env::var("USERNAME")).ok()
    }

    fn host(&self) -> Option<String> {
        std::fs::read_to_string("/etc/hostname").ok().or_else(|| std::env::var("HOSTNAME").ok())
    }
}

pub fn default_rater(src: &dyn Sources) -> String {
    let clean = |s: Option<String>| s.map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    clean(src.git_email()).unwrap_or_else(|| {
        let user = clean(src.user()).unwrap_or_else(|| "user".into());
        let host = clean(src.host()).unwrap_or_else(|| "localhost".into());
        format!("{user}@{host}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Option<&'static str>, Option<&'static str>, Option<&'static str>);
    impl Sources for Fake {
        fn git_email(&self) -> Option<String> {
            self.0.map(Into::into)
        }
        fn user(&self) -> Option<String> {
            self.1.map(Into::into)
        }
        fn host(&self) -> Option<String> {
            self.2.map(Into::into)
        }
    }

    #[test]
    fn git_email_first_then_user_at_host_lowercased() {
        assert_eq!(default_rater(&Fake(Some(" Ana@Example.COM\n"), Some("x"), Some("y"))), "ana@example.com");
        assert_eq!(default_rater(&Fake(None, Some("Bo"), Some("Laptop-7\n"))), "bo@laptop-7");
        assert_eq!(default_rater(&Fake(Some("  "), Some("bo"), None)), "bo@localhost", "a blank git email does not count");
        assert_eq!(default_rater(&Fake(None, None, None)), "user@localhost");
    }
}
