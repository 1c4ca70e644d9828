//! The real OpenID Connect provider (scripts/oidc-provider), started once per test run, and
//! a cookie-keeping HTTP client that signs in through its login form as a browser would.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use jiebang_platform::config::{OidcConfig, Secret};

/// A redirect URI the provider accepts at any port (RFC 8252 loopback rule); nothing
/// listens there, the client reads the redirect's `Location` instead of following it.
pub const CALLBACK: &str = "http://127.0.0.1:9/auth/oidc/callback";

pub struct Provider {
    pub env: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

static PROVIDER: OnceLock<Provider> = OnceLock::new();

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/oidc-provider")
}

/// The provider, started on first use. It must start, on CI or not: the script installs
/// what it needs itself, so a failure here is a real failure, never a reason to skip.
pub fn provider() -> &'static Provider {
    PROVIDER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let idp = dir.path().join("idp");
        let output = Command::new(script())
            .arg("start")
            .arg(&idp)
            // A backstop: the watcher below stops it as soon as this process is gone.
            .env("OIDC_PROVIDER_TTL", "3600")
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/oidc-provider");
        assert!(
            output.status.success(),
            "the OpenID Connect provider did not start (scripts/oidc-provider start):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env: HashMap<String, String> = std::fs::read_to_string(idp.join("env"))
            .expect("the provider wrote DIR/env")
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        // Statics are never dropped, so the TempDir would outlive us; a watcher stops the
        // provider when this test process exits, however it exits.
        #[expect(
            clippy::zombie_processes,
            reason = "the watcher must outlive this process; init reaps it"
        )]
        let _watcher = Command::new("bash")
            .args([
                "-c",
                r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3""#,
                "watch",
                &std::process::id().to_string(),
            ])
            .arg(script())
            .arg(&idp)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the provider's watcher");
        Provider { env, _dir: dir }
    })
}

impl Provider {
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from the provider's env"))
    }

    pub fn config(&self) -> OidcConfig {
        OidcConfig {
            issuer: self.var("OIDC_ISSUER").to_owned(),
            client_id: self.var("OIDC_CLIENT_ID").to_owned(),
            client_secret: Secret::new(self.var("OIDC_CLIENT_SECRET")),
            display_name: "Test IdP".to_owned(),
        }
    }
}

/// A browser-like client: keeps cookies, follows no redirect by itself.
pub fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The callback the provider redirected to.
#[derive(Debug, Clone)]
pub struct Callback {
    pub code: String,
    pub state: String,
    pub query: HashMap<String, String>,
}

pub fn parse_callback(url: &str) -> Callback {
    let url = url::Url::parse(url).unwrap();
    let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
    Callback {
        code: query.get("code").cloned().unwrap_or_default(),
        state: query.get("state").cloned().unwrap_or_default(),
        query,
    }
}

/// Follows the authorization URL through the provider's login form (when `login` is
/// given and the provider asks) to the redirect back to `callback`.
pub async fn authorize(
    client: &reqwest::Client,
    authorize_url: &str,
    callback: &str,
    login: Option<(&str, &str)>,
) -> Callback {
    let mut url = url::Url::parse(authorize_url).unwrap();
    let mut response = client.get(url.clone()).send().await.unwrap();
    for _ in 0..10 {
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            url = url.join(&location).unwrap();
            if url.as_str().starts_with(&format!("{callback}?")) {
                return parse_callback(url.as_str());
            }
            response = client.get(url.clone()).send().await.unwrap();
            continue;
        }
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status == 200 && body.contains(r#"name="password""#),
            "expected the login form at {url}, got {status}: {body}"
        );
        let (username, password) = login.expect("a login form although already signed in");
        let (action, mut fields) = form_of(&body);
        assert!(fields.contains_key("csrfmiddlewaretoken") && fields.contains_key("next"));
        fields.insert("username".into(), username.into());
        fields.insert("password".into(), password.into());
        url = url.join(&action).unwrap();
        response = client.post(url.clone()).form(&fields).send().await.unwrap();
    }
    panic!("too many redirects from {authorize_url}");
}

/// The form's action and its inputs' names and values, from the provider's plain HTML.
fn form_of(html: &str) -> (String, HashMap<String, String>) {
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!(r#"{name}=""#))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    let form = html.split("<form").nth(1).expect("a <form>");
    let action = attribute(form.split('>').next().unwrap(), "action").unwrap_or_default();
    let fields = html
        .split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = rest.split('>').next()?;
            Some((
                attribute(tag, "name")?,
                attribute(tag, "value").unwrap_or_default(),
            ))
        })
        .collect();
    (action, fields)
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
