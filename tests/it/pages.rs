//! The operators' listings a page at a time: `/api/v1/outbox`, `/api/v1/dead-letters`
//! and `/api/v1/escalations` take `cursor` and `limit` and say where the next page
//! starts; the pages together are the listing; a bad parameter is refused by name.

use crate::kit;

use std::time::Duration;

use kit::*;
use reqwest::StatusCode;
use serde_json::Value;

/// Every page of `path` (`limit` a page) as `desk` sees them, and how many pages.
async fn pages(gw: &TestGateway, desk: &str, path: &str, limit: usize) -> (Vec<Value>, usize) {
    let (mut items, mut cursor, mut count) = (Vec::new(), None::<String>, 0);
    loop {
        let url = match &cursor {
            None => format!("{path}?limit={limit}"),
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
        };
        let res = gw.get(desk, &url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let page: Value = res.json().await.unwrap();
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit, "{page:#}");
        items.extend(got.iter().cloned());
        count += 1;
        match &page["next_cursor"] {
            Value::Null => return (items, count),
            Value::Number(n) => cursor = Some(n.to_string()),
            Value::String(s) => cursor = Some(s.clone()),
            other => panic!("next_cursor: {other}"),
        }
    }
}

#[tokio::test]
async fn dead_letters_and_the_outbox_page_with_a_cursor_and_refuse_bad_parameters_by_name() {
    let gw = TestGateway::start_edited(
        |c| {
            c.unreachable_national();
        },
        reqwest::Client::new(),
    )
    .await;
    for n in 0..5 {
        assert_eq!(gw.submit("region-h", &incident(&format!("INC00800{n:02}"))).await.status(), StatusCode::CREATED);
    }
    let whole = poll_until(Duration::from_secs(10), async || {
        let dead: Value = gw.get("sds", "/api/v1/dead-letters?limit=1000").await.json().await.unwrap();
        dead["items"].as_array().filter(|i| i.len() >= 5).cloned()
    })
    .await
    .expect("every delivery became a dead letter");
    let (paged, count) = pages(&gw, "sds", "/api/v1/dead-letters", 2).await;
    assert_eq!(paged, whole, "pages of two make up the dead letters, in order");
    assert!(count >= 3, "five dead letters in pages of two: {count} pages");

    // The outbox pages the same way (empty here: everything is dead-lettered).
    let (outbox, _) = pages(&gw, "sds", "/api/v1/outbox", 2).await;
    let all: Value = gw.get("sds", "/api/v1/outbox?limit=1000").await.json().await.unwrap();
    assert_eq!(Value::Array(outbox), all["items"]);

    for (query, field) in [("limit=0", "limit"), ("limit=x", "limit"), ("cursor=abc", "cursor"), ("after=1", "after")] {
        for path in ["/api/v1/outbox", "/api/v1/dead-letters"] {
            let res = gw.get("sds", &format!("{path}?{query}")).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
            let body = res.text().await.unwrap();
            assert!(body.contains(field), "{path}?{query}: {body}");
        }
    }
    let refused = gw.get("sds", "/api/v1/escalations?limit=5000").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("limit"));
}
