//! The offline `mock` provider: deterministic, seeded per call (test key and step), with a quality
//! and latency profile per model so a demo leaderboard differs by model, and configurable faults.
//! It is a product feature (demo runs, the default without a key), not a test double.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{CallKind, ChatRequest, ChatResponse, FailureKind, LlmError, Role};
use crate::chips::ChipType;

#[derive(Debug, Clone, PartialEq)]
pub struct MockConfig {
    /// Multiplies every model's latency (0 = instant).
    pub latency_scale: f64,
    /// Probability that an attempt fails with a retryable server error.
    pub fault_rate: f64,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig { latency_scale: 1.0, fault_rate: 0.0 }
    }
}

impl MockConfig {
    /// Reads `CHIPBENCH_MOCK_LATENCY_SCALE` and `CHIPBENCH_MOCK_FAULT_RATE`.
    pub fn from_env(env: &dyn super::settings::Env) -> Result<MockConfig, String> {
        let read = |name: &str, default: f64, max: f64| match env.var(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| (0.0..=max).contains(x))
                .ok_or_else(|| format!("{name}={v:?} is not a number between 0 and {max}")),
        };
        Ok(MockConfig {
            latency_scale: read("CHIPBENCH_MOCK_LATENCY_SCALE", 1.0, 100.0)?,
            fault_rate: read("CHIPBENCH_MOCK_FAULT_RATE", 0.0, 1.0)?,
        })
    }
}

/// A model's simulated behaviour: the probability of each kind of flaw, and its latency.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub malformed: f64,
    pub short_list: f64,
    pub wrong_type: f64,
    pub duplicate: f64,
    pub overlong: f64,
    pub latency_ms: u64,
}

impl Profile {
    /// Latency is uniform in [40, 200) ms across models.
    pub const MEAN_LATENCY_MS: f64 = 120.0;

    /// Derived from a hash of the model id, so every model (also user-added ones) gets a stable,
    /// distinct profile: `quality` in [0, 1) scales every flaw rate down.
    pub fn for_model(model: &str) -> Profile {
        let h = Sha256::digest(model.as_bytes());
        let unit = |i: usize| f64::from(u16::from_le_bytes([h[i], h[i + 1]])) / 65536.0;
        let flaw = 1.0 - unit(0);
        Profile {
            malformed: 0.08 * flaw,
            short_list: 0.35 * flaw,
            wrong_type: 0.15 * flaw,
            duplicate: 0.20 * flaw,
            overlong: 0.15 * flaw,
            latency_ms: 40 + (unit(2) * 160.0) as u64,
        }
    }
}

/// Corrupts one (text, type) chip.
type Flaw = fn(&mut (String, String));

pub struct MockProvider {
    config: MockConfig,
}

/// Capitalised words of the prompt templates themselves, which say nothing about the persona.
const TEMPLATE_WORDS: [&str; 8] = ["Generate", "Each", "Answer", "JSON", "Make", "Every", "Include", "Among"];

const WORDS: [&[&str]; 4] = [
    &["quarterly review", "deadline crunch", "first week", "budget cut", "audit visit", "handover meeting", "peak season", "incident call"],
    &["KPI", "throughput", "root cause", "stakeholder map", "runway", "SLA", "backlog", "compliance"],
    &["plan the roadmap", "train new hires", "write reports", "review budgets", "coordinate teams", "negotiate contracts", "track metrics", "run check-ins"],
    &["small team", "night shift", "remote-first company", "busy open office", "regional site", "client offices", "public sector", "fast-growing startup"],
];

impl MockProvider {
    pub fn new(config: MockConfig) -> MockProvider {
        MockProvider { config }
    }

    fn rng(req: &ChatRequest, salt: &str) -> ChaCha8Rng {
        let h = Sha256::digest(format!("{}\0{}\0{salt}", req.model, req.seed_key).as_bytes());
        ChaCha8Rng::from_seed(h.into())
    }

    pub async fn attempt(&self, req: &ChatRequest, attempt: u32) -> Result<ChatResponse, LlmError> {
        let profile = Profile::for_model(&req.model);
        let mut rng = Self::rng(req, "content");
        let mut fault_rng = Self::rng(req, &format!("fault{attempt}"));
        let latency = (profile.latency_ms as f64 * self.config.latency_scale * rng.random_range(0.7..1.3)) as u64;
        tokio::time::sleep(Duration::from_millis(latency)).await;
        if fault_rng.random_bool(self.config.fault_rate) {
            return Err(LlmError::new(FailureKind::Server, "mock: simulated HTTP 503"));
        }
        let text = match req.kind {
            CallKind::Selection => Self::selection(req, &mut rng),
            CallKind::Generation | CallKind::Fill => Self::chips(req, &profile, &mut rng),
            CallKind::Chat => Self::chat(req, &mut rng),
            CallKind::Grade => Self::judgement(&profile, &mut rng),
        };
        let input_tokens = req.messages.iter().map(|m| m.content.len() as u64 / 4).sum();
        Ok(ChatResponse { output_tokens: text.len() as u64 / 4, text, input_tokens, billed_cost_usd: None, latency_ms: latency, attempts: attempt, retries: Vec::new() })
    }

    /// A free-text answer that picks up the question's longer words, so different prompts (and
    /// models) answer differently while the same call always answers the same.
    fn chat(req: &ChatRequest, rng: &mut ChaCha8Rng) -> String {
        let question = req.messages.iter().rev().find(|m| m.role == Role::User).map_or("", |m| m.content.as_str());
        let words: Vec<&str> = question.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 4).collect();
        let picks: Vec<&str> = (0..3.min(words.len())).map(|_| words[rng.random_range(0..words.len())]).collect();
        let opener = ["Good question.", "Here is a short answer.", "In brief:"][rng.random_range(0..3)];
        match picks.as_slice() {
            [] => format!("{opener} (mock reply from {})", req.model),
            picks => format!("{opener} On {}: it depends on context. (mock reply from {})", picks.join(", "), req.model),
        }
    }

    /// A judge's verdict: better models (fewer flaws) pass more outputs.
    fn judgement(p: &Profile, rng: &mut ChaCha8Rng) -> String {
        let pass = rng.random_bool(0.85 - p.short_list);
        let rationale = if pass { "The answer addresses the question." } else { "The answer misses what was asked." };
        json!({ "pass": pass, "rationale": rationale }).to_string()
    }

    fn selection(req: &ChatRequest, rng: &mut ChaCha8Rng) -> String {
        let ids: Vec<usize> = (0..req.want).filter(|_| rng.random_bool(0.4)).collect();
        json!({ "selected_ids": ids }).to_string()
    }

    fn chips(req: &ChatRequest, p: &Profile, rng: &mut ChaCha8Rng) -> String {
        if rng.random_bool(p.malformed) {
            return "I'm sorry, I can't produce that list right now.".to_owned();
        }
        // A capitalised word of the prompt (the persona's sector or role) makes chips differ by persona.
        let prompt = req.messages.last().map(|m| m.content.as_str()).unwrap_or("");
        let topics: Vec<&str> = prompt
            .split_whitespace()
            .filter(|w| w.len() > 3 && w.starts_with(char::is_uppercase) && w.chars().all(char::is_alphabetic) && !TEMPLATE_WORDS.contains(w))
            .collect();
        let topic = if topics.is_empty() { "field" } else { topics[rng.random_range(0..topics.len())] };
        let mut n = req.want;
        if rng.random_bool(p.short_list) {
            n = n.saturating_sub(rng.random_range(1..=3.min(n.max(1))));
        }
        let mut chips: Vec<(String, String)> = (0..n)
            .map(|i| {
                let t = i % 4;
                let text = format!("{} {}", WORDS[t][rng.random_range(0..WORDS[t].len())], i / 4 + 1);
                let text = if i % 3 == 0 { format!("{topic} {text}") } else { text };
                (text, ChipType::ALL[t].as_str().to_owned())
            })
            .collect();
        // Each flaw hits a response with its rate, and then one or two of its chips.
        let flaws: [(f64, Flaw); 3] = [
            (p.wrong_type, |c| c.1 = "skill".into()),
            (p.overlong, |c| c.0 = format!("{} and several more words that make it far too long", c.0)),
            (p.duplicate, |c| c.0 = WORDS[0][0].to_uppercase()),
        ];
        for (rate, flaw) in flaws {
            if !chips.is_empty() && rng.random_bool(rate) {
                for _ in 0..rng.random_range(1..=2) {
                    let i = rng.random_range(0..chips.len());
                    flaw(&mut chips[i]);
                }
            }
        }
        let chips: Vec<_> = chips.into_iter().map(|(text, kind)| json!({"text": text, "type": kind})).collect();
        let body = json!({ "chips": chips }).to_string();
        // Some models wrap their JSON in prose and a code fence.
        if rng.random_bool(0.2) { format!("Here are the chips:\n```json\n{body}\n```") } else { body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    fn req(model: &str, seed: &str, kind: CallKind) -> ChatRequest {
        ChatRequest {
            model: model.into(),
            messages: vec![Message::user("Generate chips for Healthcare workers wanting promotion")].into(),
            kind,
            temperature: None,
            max_tokens: None,
            seed_key: seed.into(),
            want: 12,
        }
    }

    fn instant() -> MockProvider {
        MockProvider::new(MockConfig { latency_scale: 0.0, fault_rate: 0.0 })
    }

    #[tokio::test]
    async fn same_call_same_answer() {
        let m = instant();
        let a = m.attempt(&req("m1", "k/1", CallKind::Generation), 1).await.unwrap();
        let b = m.attempt(&req("m1", "k/1", CallKind::Generation), 1).await.unwrap();
        assert_eq!(a, b, "seeded per (model, test key, step)");
        let c = m.attempt(&req("m1", "k/2", CallKind::Generation), 1).await.unwrap();
        assert_ne!(a.text, c.text);
    }

    #[tokio::test]
    async fn models_differ_in_quality() {
        let m = instant();
        let mut parsed_rate = Vec::new();
        for model in ["anthropic/claude-haiku-4.5", "mistralai/mistral-nemo", "x-ai/grok-4.1-fast"] {
            let mut complete = 0;
            for i in 0..300 {
                let r = m.attempt(&req(model, &i.to_string(), CallKind::Generation), 1).await.unwrap();
                let ok = crate::chips::parse_chips(&r.text).map(|c| crate::chips::normalise(&c, &[], 12).chips.len() == 12);
                complete += ok.unwrap_or(false) as u32;
            }
            parsed_rate.push(complete);
        }
        parsed_rate.dedup();
        assert_eq!(parsed_rate.len(), 3, "complete-list counts differ by model: {parsed_rate:?}");
        assert_ne!(Profile::for_model("a").latency_ms, Profile::for_model("b").latency_ms);
    }

    #[tokio::test]
    async fn fault_rate_one_always_fails_retryably() {
        let m = MockProvider::new(MockConfig { latency_scale: 0.0, fault_rate: 1.0 });
        let err = m.attempt(&req("m", "k", CallKind::Selection), 1).await.unwrap_err();
        assert!(err.kind.retryable());
    }

    #[tokio::test]
    async fn selection_answers_the_contract() {
        let r = instant().attempt(&req("m", "k", CallKind::Selection), 1).await.unwrap();
        let ids = crate::chips::parse_selection(&r.text).unwrap();
        assert!(ids.iter().all(|&i| (0..12).contains(&i)));
    }
}
