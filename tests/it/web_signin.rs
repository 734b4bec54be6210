//! Sign-in without a browser: the identity provider simulator's checks (PKCE, the
//! client's secret, single-use codes) and the gateway's (state bound to the browser
//! that started the sign-in, CSRF on every form).

use deskgate_sim::idp::{IdpClient, IdpConfig, IdpSim, IdpUser};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::kit::config::Desk;
use crate::kit::federation::Federation;
use crate::kit::signin::{location, set_cookie};

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

fn query(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

const VERIFIER: &str = "a-code-verifier-of-at-least-forty-three-characters-long";

async fn provider(redirect: &str) -> IdpSim {
    IdpSim::spawn(IdpConfig {
        // Without a redirect URI yet: the client is registered once it is known.
        clients: (!redirect.is_empty())
            .then(|| IdpClient { id: "rp".into(), secret: "rp-secret".into(), redirect_uris: vec![redirect.into()] })
            .into_iter()
            .collect(),
        users: vec![IdpUser {
            login: "anna".into(),
            name: "Anna".into(),
            desk: "portal".into(),
            password: "pw".into(),
        }],
        ..IdpConfig::default()
    })
    .await
    .unwrap()
}

/// Sign in at the provider with `challenge`: the code.
async fn code(idp: &IdpSim, redirect: &str, challenge: &str) -> String {
    let form = [
        ("response_type", "code"),
        ("client_id", "rp"),
        ("redirect_uri", redirect),
        ("scope", "openid"),
        ("state", "s1"),
        ("nonce", "n1"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("username", "anna"),
        ("password", "pw"),
    ];
    let r = client().post(format!("{}/authorize", idp.issuer())).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let to = location(&r);
    assert_eq!(query(&to, "state").as_deref(), Some("s1"));
    query(&to, "code").unwrap()
}

async fn exchange(idp: &IdpSim, redirect: &str, code: &str, verifier: &str, secret: &str) -> (u16, serde_json::Value) {
    let form =
        [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)];
    let r = client()
        .post(format!("{}/token", idp.issuer()))
        .basic_auth("rp", Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[tokio::test]
async fn the_provider_verifies_pkce_the_clients_secret_and_uses_a_code_once() {
    let redirect = "http://127.0.0.1:9/cb";
    let idp = provider(redirect).await;
    let c = code(&idp, redirect, &challenge(VERIFIER)).await;
    let (status, answer) =
        exchange(&idp, redirect, &c, "another-verifier-of-at-least-forty-three-characters", "rp-secret").await;
    assert_eq!((status, answer["error"].as_str()), (400, Some("invalid_grant")), "a wrong verifier");

    let c = code(&idp, redirect, &challenge(VERIFIER)).await;
    let (status, answer) = exchange(&idp, redirect, &c, VERIFIER, "wrong").await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("invalid_client")));
    let (status, answer) = exchange(&idp, redirect, &c, VERIFIER, "rp-secret").await;
    assert_eq!(status, 200, "{answer}");
    let token = answer["id_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = {
        use base64::Engine;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    assert_eq!(
        (claims["nonce"].as_str(), claims["desk"].as_str(), claims["aud"].as_str()),
        (Some("n1"), Some("portal"), Some("rp"))
    );
    let (status, _) = exchange(&idp, redirect, &c, VERIFIER, "rp-secret").await;
    assert_eq!(status, 400, "a code is used once");

    // Without a S256 challenge the client is told so, on its redirect URI.
    let r = client()
        .get(format!(
            "{}/authorize?response_type=code&client_id=rp&redirect_uri={redirect}&scope=openid&state=s",
            idp.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r), "error").as_deref(), Some("invalid_request"));
}

async fn portal_federation() -> (Federation, IdpSim, tempfile::TempDir) {
    let idp = provider("").await;
    let secrets = tempfile::tempdir().unwrap();
    let jwt = secrets.path().join("jwt");
    let oidc = secrets.path().join("oidc");
    std::fs::write(&jwt, "portal-api-token-secret-of-32-bytes!!").unwrap();
    std::fs::write(&oidc, "rp-secret").unwrap();
    let auth = json!({
        "issuer": idp.issuer(), "algorithm": "HS256", "secret": { "file": jwt },
        "oidc_client_id": "rp", "oidc_client_secret": { "file": oidc },
    });
    let f = Federation::builder()
        .without_drift()
        .configure(move |c| {
            c.desk("portal", Desk::new("Portal", "local", "native").set("auth", auth));
            c.gateway(
                "web",
                json!({ "applications": [
                    { "project": "Fælles Medicinkort", "application": "FMK-online", "service": "fmk" },
                    { "project": "National Serviceplatform", "application": "SOSI STS", "service": "NSP" },
                ] }),
            );
        })
        .start()
        .await;
    idp.add_client(IdpClient {
        id: "rp".into(),
        secret: "rp-secret".into(),
        redirect_uris: vec![f.url("/auth/callback")],
    });
    (f, idp, secrets)
}

#[tokio::test]
async fn the_callback_needs_the_browsers_own_state_and_forms_need_the_csrf_token() {
    let (f, idp, _secrets) = portal_federation().await;
    let http = client();
    let start = http.get(f.url("/login/portal")).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let login_cookie = set_cookie(&start, "deskgate_login").expect("the sign-in is bound to this browser");
    assert!(start.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly; SameSite=Lax"));
    let authorize = location(&start);
    assert!(
        authorize.starts_with(idp.issuer()) && query(&authorize, "code_challenge_method").as_deref() == Some("S256")
    );
    let mut form: Vec<(String, String)> = url::Url::parse(&authorize).unwrap().query_pairs().into_owned().collect();
    form.extend([("username".into(), "anna".into()), ("password".into(), "pw".into())]);
    let back = http.post(format!("{}/authorize", idp.issuer())).form(&form).send().await.unwrap();
    let callback = location(&back);
    let code = query(&callback, "code").unwrap();

    // Another state than the one this browser was given: refused, no session.
    let forged = format!("{}?code={code}&state=forged", f.url("/auth/callback"));
    let r = http.get(&forged).header("cookie", &login_cookie).send().await.unwrap();
    assert_eq!(location(&r), "/login?failed=1");
    assert!(set_cookie(&r, "deskgate_session").is_none());
    // …and the sign-in under way is spent: the right state now fails too.
    let r = http.get(&callback).header("cookie", &login_cookie).send().await.unwrap();
    assert_eq!(location(&r), "/login?failed=1");

    // A whole sign-in, then a form posted without its token.
    let r = sign_in(&http, &f, &idp).await;
    assert_eq!(location(&r), "/report");
    let session = set_cookie(&r, "deskgate_session").expect("a session");
    let page = http.get(f.url("/report")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.starts_with("default-src 'self'") && csp.contains("script-src 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="csrf""#) && !html.contains("<script"), "{html}");
    let r = http.post(f.url("/logout")).header("cookie", &session).form(&[("csrf", "wrong")]).send().await.unwrap();
    assert_eq!(r.status(), 403, "sign-out without the token");
    assert_eq!(
        http.get(f.url("/report")).header("cookie", &session).send().await.unwrap().status(),
        200,
        "still signed in"
    );
}

/// A whole sign-in of Anna at the portal in `http`: the gateway's answer to the
/// provider's callback.
async fn sign_in(http: &reqwest::Client, f: &Federation, idp: &IdpSim) -> reqwest::Response {
    let start = http.get(f.url("/login/portal")).send().await.unwrap();
    let login_cookie = set_cookie(&start, "deskgate_login").unwrap();
    let mut form: Vec<(String, String)> =
        url::Url::parse(&location(&start)).unwrap().query_pairs().into_owned().collect();
    form.extend([("username".into(), "anna".into()), ("password".into(), "pw".into())]);
    let back = http.post(format!("{}/authorize", idp.issuer())).form(&form).send().await.unwrap();
    http.get(location(&back)).header("cookie", &login_cookie).send().await.unwrap()
}

/// A whole sign-in of Anna at the portal: her session cookie.
async fn signed_in(f: &Federation, idp: &IdpSim) -> String {
    let r = sign_in(&client(), f, idp).await;
    set_cookie(&r, "deskgate_session").expect("a session")
}

/// The `value` of the hidden input `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!(r#"name="{name}" value=""#)).unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The report form sent as a browser sends it (multipart), with `fields`.
async fn send_report(f: &Federation, session: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = client().get(f.url("/report")).header("cookie", session).send().await.unwrap().text().await.unwrap();
    let (csrf, form_id) = (hidden(&page, "csrf"), hidden(&page, "form_id"));
    let boundary = "deskgate-test-boundary";
    let body: String = [("csrf", csrf.as_str()), ("form_id", form_id.as_str())]
        .iter()
        .chain(fields)
        .map(|(k, v)| format!("--{boundary}\r\ncontent-disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"))
        .chain([format!("--{boundary}--\r\n")])
        .collect();
    client()
        .post(f.url("/report?lang=en"))
        .header("cookie", session)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The problem type "Application" (the healthdata.be portal): the configured projects
/// and applications are offered, a pair that is not configured is refused on its
/// field and stores nothing, and a configured one files the incident under the
/// application's service with both names in its description. "My reports" names its
/// status in the reader's language.
#[tokio::test]
async fn an_application_report_is_filed_under_its_service_and_my_reports_name_its_status_in_danish_and_english() {
    let (f, idp, _secrets) = portal_federation().await;
    let session = signed_in(&f, &idp).await;
    let page = client().get(f.url("/report?lang=en")).header("cookie", &session).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<option value="application">Application</option>"#), "{html}");
    assert!(html.contains(r#"<select id="project" name="project""#) && html.contains("Fælles Medicinkort"), "{html}");
    assert!(html.contains(r#"<optgroup label="National Serviceplatform"><option value="SOSI STS">"#), "{html}");

    let report = |project: &'static str, application: &'static str| {
        vec![
            ("urgency", "medium"),
            ("problem_type", "application"),
            ("project", project),
            ("application", application),
            ("subject", "Prescriptions do not load"),
            ("description", "Since 09:00 the list stays empty."),
        ]
    };
    let before = f.outbox().await.len();
    let refused = send_report(&f, &session, &report("Fælles Medicinkort", "SOSI STS")).await;
    assert_eq!(refused.status(), 422, "another project's application");
    let html = refused.text().await.unwrap();
    assert!(html.contains(r#"id="error-application""#) && !html.contains(r#"id="error-project""#), "{html}");
    let (_, list) = f.call("sds", reqwest::Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "nothing stored: {list}");
    assert_eq!(f.outbox().await.len(), before);

    let sent = send_report(&f, &session, &report("National Serviceplatform", "SOSI STS")).await;
    assert_eq!(sent.status(), 303, "{:?}", sent.text().await);
    let id = location(&sent).trim_start_matches("/report/").split('?').next().unwrap().to_owned();
    let incident = f.incident(&id).await;
    assert_eq!(incident["service"], "NSP", "{incident}");
    let description = incident["description"].as_str().unwrap();
    assert!(
        description.starts_with("Project: National Serviceplatform\nApplication: SOSI STS\n\nSince 09:00"),
        "{description}"
    );

    for (lang, new, in_progress) in [("da", "Ny", "Under behandling"), ("en", "New", "In progress")] {
        let mine = client()
            .get(f.url(&format!("/report/mine?lang={lang}")))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let row = &mine[mine.find(&id).unwrap_or_else(|| panic!("{id} in {mine}"))..];
        assert!(row.contains(&format!("<td>{new}</td>")), "{lang}: {row}");
        assert!(mine.contains(&format!(r#"<option value="in_progress">{in_progress}</option>"#)), "{lang}: {mine}");
    }
}
