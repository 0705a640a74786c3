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
    repository: Option<Repository>,
    /// The branch was deleted: GitHub sends a push with no commits.
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    commits: Option<Vec<serde::de::IgnoredAny>>,
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
    /// The repository the branch lives in: a fork's, for a pull request from a fork.
    /// GitHub sends `null` when that fork has since been deleted.
    repo: Option<Repository>,
}

/// Reads a delivery. `repo` is the configured `owner/name`, if any: closing keywords
/// only count for issues of that repository, and a pull request's branch names a task
/// only when the branch is in that repository (without one configured, in the
/// repository the delivery is about). A fork can name its branch `task-12`; that
/// branch is not taskwire's.
pub fn interpret(
    event: &str,
    payload: &[u8],
    repo: Option<&str>,
) -> Result<Intent, serde_json::Error> {
    Ok(match event {
        "ping" => Intent::Pong,
        "push" => {
            let push: PushEvent = serde_json::from_slice(payload)?;
            if push.deleted {
                return Ok(Intent::Ignore("push that deleted a branch"));
            }
            if push.commits.as_ref().is_none_or(|c| c.is_empty()) {
                return Ok(Intent::Ignore("push that added no commits"));
            }
            // A hook on an org or on a fork delivers pushes of other repositories too;
            // only a branch of the configured repository is a task's.
            let pushed_to = push.repository.and_then(|r| r.full_name);
            if let Some(configured) = repo {
                if !pushed_to.is_some_and(|r| r.eq_ignore_ascii_case(configured)) {
                    return Ok(Intent::Ignore("push to another repository"));
                }
            }
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
            let ours = repo.or(pr_repo.as_deref());
            let (branch, head_repo) = match pr.head {
                Some(head) => (head.git_ref, head.repo.and_then(|r| r.full_name)),
                None => (None, None),
            };
            let same_repo = matches!((head_repo.as_deref(), ours), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o));
            let link = PrLink {
                branch: branch.filter(|_| same_repo),
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

    /// A payload from `server/tests/fixtures/github/`.
    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/github/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The fixture as JSON with `ref` set, for pushes to a task's branch.
    fn push_to(name: &str, git_ref: &str) -> Vec<u8> {
        let mut push: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
        push["ref"] = git_ref.into();
        serde_json::to_vec(&push).unwrap()
    }

    #[test]
    fn a_push_of_commits_names_its_branch() {
        let intent = interpret("push", &push_to("push.json", "refs/heads/task-7"), None).unwrap();
        assert_eq!(
            intent,
            Intent::Push {
                branch: "task-7".into()
            }
        );
        let tag = interpret("push", &push_to("push.json", "refs/tags/v1"), None).unwrap();
        assert!(matches!(tag, Intent::Ignore(_)));
        let ours = push_to("push.json", "refs/heads/task-7");
        assert!(matches!(
            interpret("push", &ours, Some("codertocat/hello-world")).unwrap(),
            Intent::Push { .. }
        ));
        assert_eq!(
            interpret("push", &ours, Some("acme/app")).unwrap(),
            Intent::Ignore("push to another repository")
        );
    }

    #[test]
    fn a_push_that_deletes_a_branch_or_adds_no_commits_is_ignored() {
        let deleted = push_to("push.deleted.json", "refs/heads/task-7");
        assert_eq!(
            interpret("push", &deleted, None).unwrap(),
            Intent::Ignore("push that deleted a branch")
        );
        let mut created: serde_json::Value = serde_json::from_slice(&fixture("push.json")).unwrap();
        created["ref"] = "refs/heads/task-7".into();
        created["created"] = true.into();
        created["commits"] = serde_json::json!([]);
        let created = serde_json::to_vec(&created).unwrap();
        assert_eq!(
            interpret("push", &created, None).unwrap(),
            Intent::Ignore("push that added no commits")
        );
    }

    #[test]
    fn the_real_opened_payload_is_read() {
        let payload = fixture("pull_request.opened.json");
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
    fn a_branch_in_a_fork_names_no_task() {
        let fork = fixture("pull_request.opened.fork.json");
        for configured in [Some("Codertocat/Hello-World"), None] {
            let Intent::PrOpened { link, .. } =
                interpret("pull_request", &fork, configured).unwrap()
            else {
                panic!("a fork's pull request is still a pull request")
            };
            assert_eq!(link.branch, None, "configured: {configured:?}");
        }
        // The same pull request from the repository itself is linked by its branch, also
        // when the configured name differs in case.
        let own = fixture("pull_request.opened.json");
        let Intent::PrOpened { link, .. } =
            interpret("pull_request", &own, Some("codertocat/hello-world")).unwrap()
        else {
            panic!()
        };
        assert_eq!(link.branch.as_deref(), Some("changes"));
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
