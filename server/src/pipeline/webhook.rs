//! GitHub webhooks: signature checks and what each delivery means for a task.
//!
//! Interpretation is pure (payload in, intent out) so every mapping is unit-tested;
//! the route applies the intent through the task service.

use hmac::{Hmac, Mac};
use regex::Regex;
use serde::Deserialize;
use sha2::Sha256;

/// Checks `X-Hub-Signature-256` (`sha256=<hex>`) over the raw body, in constant time.
pub fn signature_is_valid(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Signs a body the way GitHub does (for tests and tools).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How a pull request names its task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrLink {
    /// The PR's head branch (`task-7`).
    pub branch: Option<String>,
    /// Issue numbers named by closing keywords in the PR's body, in this repository.
    pub closes: Vec<i64>,
}

/// What a delivery asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Pong,
    Push {
        branch: String,
    },
    PrOpened {
        link: PrLink,
        number: Option<i64>,
        url: Option<String>,
        title: Option<String>,
    },
    PrMerged {
        link: PrLink,
        sha: Option<String>,
        merged_at: Option<i64>,
    },
    PrClosed {
        link: PrLink,
        number: Option<i64>,
    },
    /// Nothing to do; the reason is logged.
    Ignore(&'static str),
}

#[derive(Deserialize)]
struct Repository {
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: Option<String>,
    pull_request: Option<PullRequest>,
    repository: Option<Repository>,
}

#[derive(Deserialize)]
struct PullRequest {
    number: Option<i64>,
    html_url: Option<String>,
    title: Option<String>,
    body: Option<String>,
    head: Option<Head>,
    merged: Option<bool>,
    merge_commit_sha: Option<String>,
    merged_at: Option<String>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

/// Reads a delivery. `repo` is the configured `owner/name`, if any: closing keywords
/// only count for issues of that repository.
pub fn interpret(
    event: &str,
    payload: &[u8],
    repo: Option<&str>,
) -> Result<Intent, serde_json::Error> {
    Ok(match event {
        "ping" => Intent::Pong,
        "push" => {
            let push: PushEvent = serde_json::from_slice(payload)?;
            match push
                .git_ref
                .as_deref()
                .and_then(|r| r.strip_prefix("refs/heads/"))
            {
                Some(branch) => Intent::Push {
                    branch: branch.to_owned(),
                },
                None => Intent::Ignore("push to something that is not a branch"),
            }
        }
        "pull_request" => {
            let e: PullRequestEvent = serde_json::from_slice(payload)?;
            let Some(pr) = e.pull_request else {
                return Ok(Intent::Ignore("pull_request without a pull request"));
            };
            let pr_repo = e.repository.and_then(|r| r.full_name);
            let link = PrLink {
                branch: pr.head.and_then(|h| h.git_ref),
                closes: closing_references(
                    pr.body.as_deref().unwrap_or(""),
                    pr_repo.as_deref(),
                    repo,
                ),
            };
            match e.action.as_deref() {
                Some("opened") | Some("reopened") => Intent::PrOpened {
                    link,
                    number: pr.number,
                    url: pr.html_url,
                    title: pr.title,
                },
                Some("closed") if pr.merged == Some(true) => Intent::PrMerged {
                    link,
                    sha: pr.merge_commit_sha,
                    merged_at: pr.merged_at.as_deref().and_then(parse_time),
                },
                Some("closed") => Intent::PrClosed {
                    link,
                    number: pr.number,
                },
                _ => Intent::Ignore("pull_request action that does not change a task"),
            }
        }
        _ => Intent::Ignore("event type taskwire does not use"),
    })
}

/// Issue numbers a PR body closes (`Fixes #12`, `closes owner/repo#12`), counted only
/// when they name the configured repository.
pub fn closing_references(body: &str, pr_repo: Option<&str>, configured: Option<&str>) -> Vec<i64> {
    static PATTERN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(
            r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+([\w.-]+/[\w.-]+)?#(\d+)\b",
        )
        .unwrap_or_else(|_| unreachable!("the pattern is valid"))
    });
    let Some(configured) = configured else {
        return Vec::new();
    };
    pattern
        .captures_iter(body)
        .filter(|c| {
            let named = c.get(1).map(|m| m.as_str()).or(pr_repo);
            named.is_some_and(|r| r.eq_ignore_ascii_case(configured))
        })
        .filter_map(|c| c.get(2)?.as_str().parse().ok())
        .collect()
}

fn parse_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_with_the_secret_verifies_and_others_do_not() {
        let sig = sign(b"s3cret", b"{\"a\":1}");
        assert!(signature_is_valid(b"s3cret", b"{\"a\":1}", Some(&sig)));
        assert!(!signature_is_valid(b"other", b"{\"a\":1}", Some(&sig)));
        assert!(!signature_is_valid(b"s3cret", b"{\"a\":2}", Some(&sig)));
        assert!(!signature_is_valid(b"s3cret", b"{\"a\":1}", None));
        assert!(!signature_is_valid(
            b"s3cret",
            b"{\"a\":1}",
            Some("sha256=zz")
        ));
        assert!(!signature_is_valid(
            b"s3cret",
            b"{\"a\":1}",
            Some(&sig.replace("sha256=", "sha1="))
        ));
    }

    #[test]
    fn closing_keywords_name_issues_of_the_configured_repository_only() {
        let body = "Fixes #12, closes acme/app#13 and resolves other/repo#14. Also fixed: #15";
        assert_eq!(
            closing_references(body, Some("acme/app"), Some("acme/app")),
            vec![12, 13, 15]
        );
        assert_eq!(
            closing_references(body, Some("fork/app"), Some("acme/app")),
            vec![13]
        );
        assert!(closing_references(body, Some("acme/app"), None).is_empty());
        assert!(
            closing_references("mentions #12 only", Some("acme/app"), Some("acme/app")).is_empty()
        );
    }

    #[test]
    fn a_push_names_its_branch() {
        let intent = interpret(
            "push",
            br#"{"ref":"refs/heads/task-7","after":"abc"}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            intent,
            Intent::Push {
                branch: "task-7".into()
            }
        );
        let tag = interpret("push", br#"{"ref":"refs/tags/v1"}"#, None).unwrap();
        assert!(matches!(tag, Intent::Ignore(_)));
    }

    #[test]
    fn the_real_opened_payload_is_read() {
        let payload = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/github/pull_request.opened.json"
        ))
        .expect("shared/fixtures/github sits beside the checkout");
        let intent = interpret("pull_request", &payload, Some("Codertocat/Hello-World")).unwrap();
        let Intent::PrOpened {
            link,
            number,
            url,
            title,
        } = intent
        else {
            panic!("{intent:?}")
        };
        assert_eq!(link.branch.as_deref(), Some("changes"));
        assert_eq!(number, Some(2));
        assert_eq!(
            url.as_deref(),
            Some("https://github.com/Codertocat/Hello-World/pull/2")
        );
        assert_eq!(
            title.as_deref(),
            Some("Update the README with new information.")
        );
    }

    #[test]
    fn null_bodies_missing_fields_and_unknown_actions_are_tolerated() {
        let minimal = br#"{"action":"opened","pull_request":{"body":null,"extra":{"x":1}}}"#;
        assert!(matches!(
            interpret("pull_request", minimal, Some("a/b")).unwrap(),
            Intent::PrOpened { .. }
        ));
        let labeled = br#"{"action":"labeled","pull_request":{}}"#;
        assert!(matches!(
            interpret("pull_request", labeled, None).unwrap(),
            Intent::Ignore(_)
        ));
        assert!(matches!(
            interpret("issues", b"{}", None).unwrap(),
            Intent::Ignore(_)
        ));
        assert!(interpret("pull_request", b"not json", None).is_err());
    }

    #[test]
    fn a_merged_close_carries_its_sha_and_time() {
        let body = br#"{"action":"closed","pull_request":{"merged":true,"merge_commit_sha":"abc","merged_at":"2019-05-15T15:20:33Z","head":{"ref":"task-1"}}}"#;
        let Intent::PrMerged { sha, merged_at, .. } =
            interpret("pull_request", body, None).unwrap()
        else {
            panic!()
        };
        assert_eq!(sha.as_deref(), Some("abc"));
        assert_eq!(merged_at, Some(1_557_933_633_000));
    }
}
