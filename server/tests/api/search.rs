//! Finding tasks: words searched in titles and descriptions through the store's
//! full-text index, a creator filter, orders, and counts that follow the view's scope;
//! over HTTP and on the server-rendered dashboard, on either store.

use serde_json::Value;

use crate::helpers::*;

async fn task(
    app: &TestApp,
    user: &TestUser,
    title: &str,
    description: &str,
    private: bool,
) -> i64 {
    app.create_described(user, title, description, private)
        .await
        .0
}

async fn list(app: &TestApp, user: &TestUser, path: &str) -> Value {
    let res = app.get(user, path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// How many tasks a list's counts add up to.
fn total(body: &Value) -> u64 {
    body["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort();
    v
}

const DETAIL: &str = ACTIONABLE;

#[tokio::test]
async fn a_search_finds_words_in_titles_and_descriptions_of_what_the_viewer_may_see() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let carol = app.signup_in_org("carol", "other-team").await;
    let in_title = task(&app, &ada, "Invoice PDF is blank", DETAIL, false).await;
    let in_text = task(
        &app,
        &bob,
        "Export broken",
        "The invoices export as an empty file.",
        false,
    )
    .await;
    let elsewhere = task(&app, &ada, "Login is slow", DETAIL, false).await;
    let _private = task(&app, &bob, "Invoice totals", DETAIL, true).await;
    let _other_org = task(&app, &carol, "Invoice layout", DETAIL, false).await;

    let found = list(&app, &ada, "/api/tasks?q=pdf").await;
    assert_eq!(ids(&found), vec![in_title], "a whole word");
    let found = list(&app, &ada, "/api/tasks?q=invoices").await;
    assert_eq!(ids(&found), vec![in_text], "a word of a description");
    let found = list(&app, &ada, "/api/tasks?q=INVO").await;
    assert_eq!(
        sorted(ids(&found)),
        sorted(vec![in_title, in_text]),
        "the start of a word, in any case, in a title or a description"
    );
    assert_eq!(total(&found), 2, "counts follow the search");
    let found = list(&app, &ada, "/api/tasks?q=invo+blank").await;
    assert_eq!(ids(&found), vec![in_title], "every word must be there");
    let found = list(&app, &ada, "/api/tasks?q=nothing-like-it").await;
    assert!(ids(&found).is_empty());
    assert_eq!(total(&found), 0);
    let everything = list(&app, &ada, "/api/tasks").await;
    assert_eq!(
        ids(&everything).len(),
        3,
        "Bob's private task and Carol's team stay out"
    );
    assert!(ids(&everything).contains(&elsewhere));

    // Search syntax is not passed through: these are words, or nothing.
    for hostile in [
        "%22",
        "*",
        "NEAR(a+b)",
        "a+OR+b",
        "title%3Ainvoice",
        "%27%3B--",
        "invoice%22*",
        "%E2%80%AE",
        "%00",
    ] {
        let res = app.get(&ada, &format!("/api/tasks?q={hostile}")).await;
        assert_eq!(res.status(), 200, "q={hostile}");
    }
    let quoted = list(&app, &ada, "/api/tasks?q=%22pdf%22*").await;
    assert_eq!(ids(&quoted), vec![in_title]);
    let long = "invoice+".repeat(500);
    let res = app.get(&ada, &format!("/api/tasks?q={long}")).await;
    assert_eq!(
        res.status(),
        200,
        "a very long search is cut to its first words"
    );
}

#[tokio::test]
async fn the_creator_filter_and_mine_narrow_the_list_and_its_counts() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let ada_task = task(&app, &ada, "Ada's", DETAIL, false).await;
    let bob_tasks = vec![
        task(&app, &bob, "Bob's first", DETAIL, false).await,
        task(&app, &bob, "Bob's second", DETAIL, false).await,
    ];
    let bob_private = task(&app, &bob, "Bob's own", DETAIL, true).await;
    let listed = list(&app, &ada, "/api/tasks").await;
    let bob_id = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == bob_tasks[0])
        .unwrap()["creator"]["id"]
        .as_i64()
        .unwrap();

    let bobs = list(&app, &ada, &format!("/api/tasks?creator={bob_id}")).await;
    assert_eq!(
        sorted(ids(&bobs)),
        sorted(bob_tasks.clone()),
        "Bob's public tasks only"
    );
    assert_eq!(total(&bobs), 2);
    let own = list(&app, &bob, &format!("/api/tasks?creator={bob_id}")).await;
    assert_eq!(total(&own), 3, "his own private task counts for him");
    assert!(ids(&own).contains(&bob_private));

    let mine = list(&app, &ada, "/api/tasks?mine=1").await;
    assert_eq!(ids(&mine), vec![ada_task]);
    assert_eq!(total(&mine), 1, "counts follow Mine");
    assert_eq!(total(&listed), 3);
    let nobody = list(&app, &ada, &format!("/api/tasks?mine=1&creator={bob_id}")).await;
    assert!(ids(&nobody).is_empty(), "both filters hold at once");
}

#[tokio::test]
async fn each_order_sorts_the_whole_list_the_way_the_browser_does() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let mut created = Vec::new();
    // Punctuation sorts by its byte, as in the browser, not by a locale's rules.
    for title in ["banana", "Apple", "cherry", "apricot", "ab", "a-z"] {
        created.push(task(&app, &ada, title, DETAIL, false).await);
    }
    for id in &created {
        app.wait_for_status(&ada, shared_protocol::TaskId(*id), "dispatched")
            .await;
    }
    let titles = |body: &Value| -> Vec<String> {
        body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_title = list(&app, &ada, "/api/tasks?sort=title").await;
    assert_eq!(
        titles(&by_title),
        ["a-z", "ab", "Apple", "apricot", "banana", "cherry"]
    );
    let reversed = list(&app, &ada, "/api/tasks?sort=title&order=desc").await;
    assert_eq!(
        titles(&reversed),
        ["cherry", "banana", "apricot", "Apple", "ab", "a-z"]
    );
    let newest = list(&app, &ada, "/api/tasks?sort=created").await;
    let mut expect = created.clone();
    expect.reverse();
    assert_eq!(ids(&newest), expect);
    let oldest = list(&app, &ada, "/api/tasks?sort=created&order=asc").await;
    assert_eq!(ids(&oldest), created);

    // The browser orders its live rows with the protocol's own comparator: the server's
    // order must be the same one.
    let rows: Vec<shared_protocol::TaskSummary> =
        serde_json::from_value(by_title["tasks"].clone()).unwrap();
    let sort = shared_protocol::Sort::by(shared_protocol::SortKey::Title);
    assert!(rows.windows(2).all(|w| sort.cmp(&w[0], &w[1]).is_lt()));
    let by_status = list(&app, &ada, "/api/tasks?sort=status").await;
    let rows: Vec<shared_protocol::TaskSummary> =
        serde_json::from_value(by_status["tasks"].clone()).unwrap();
    let sort = shared_protocol::Sort::by(shared_protocol::SortKey::Status);
    assert!(rows.windows(2).all(|w| sort.cmp(&w[0], &w[1]).is_lt()));
}

#[tokio::test]
async fn the_rendered_dashboard_shows_the_view_its_url_names() {
    let app = spawn_app().await;
    let ada = app.signup("ada").await;
    let hit = task(&app, &ada, "Invoice PDF is blank", DETAIL, false).await;
    task(&app, &ada, "Login is slow", DETAIL, false).await;
    let res = app.get(&ada, "/?q=invoice+pdf&sort=title").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert_eq!(html.matches(r#"data-testid="task-row""#).count(), 1);
    assert!(html.contains(&format!(r#"data-task-id="{hit}""#)));
    assert!(
        html.contains(r#"value="invoice pdf""#),
        "the search box shows the search"
    );
    assert!(
        html.contains(r#"aria-sort="ascending""#),
        "the sorted column says so"
    );
    assert!(
        html.contains(r#"href="/?q=invoice+pdf&amp;sort=title&amp;order=desc""#),
        "the sorted column's link reverses the order, keeping the search"
    );
    // `<!>` marks where the browser's hydration finds a text node; it is not content.
    let total = html.split(r#"data-testid="count-total""#).nth(1).unwrap();
    let total = total.replace("<!>", "");
    assert!(
        total.contains(">1</span>") && total.find(">1</span>") < total.find("</a>"),
        "the count follows the search: {}",
        &total[..40]
    );
}
