//! A real headless Chromium driven over WebDriver (chromedriver + fantoccini), for tests
//! that must see what a person's browser sees.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use jiebang_sandboxes::testing::skip_or_fail;
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most two browsers at once: each Chromium wants most of a core, and there are two.
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// A phone (390 × 844, the common small size) or a desktop window.
#[derive(Debug, Clone, Copy)]
pub enum Size {
    Phone,
    Desktop,
}

impl Size {
    fn pixels(self) -> (u32, u32) {
        match self {
            Self::Phone => (390, 844),
            Self::Desktop => (1280, 900),
        }
    }
}

/// chromedriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One browser session: its chromedriver, its window, where screenshots go.
pub struct Browser {
    client: Client,
    name: String,
    _driver: Driver,
    _permit: SemaphorePermit<'static>,
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Whether this machine has Chromium and chromedriver. Under CI a missing one fails the
/// test loudly (scripts/test installs both); elsewhere the test says it skipped, and why.
pub fn require_chromium() -> bool {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = find_program(&["chromedriver"]);
    if chromium.is_some() && driver.is_some() {
        return true;
    }
    skip_or_fail(&format!(
        "needs chromium and chromedriver (found chromium: {chromium:?}, chromedriver: \
         {driver:?}); `scripts/test` installs them (Debian packages chromium, chromium-driver)"
    ));
    false
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium window of `size`; `name` names the
    /// screenshots taken when the test fails.
    pub async fn start(name: &str, size: Size) -> Self {
        let permit = BROWSERS.acquire().await.unwrap();
        let port = free_port();
        let driver = Driver(
            Command::new(find_program(&["chromedriver"]).unwrap())
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let (width, height) = size.pixels();
        let mut options = serde_json::json!({"args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", format!("--window-size={width},{height}"),
        ]});
        if let Some(binary) = find_program(&["chromium", "chromium-browser", "google-chrome"]) {
            options["binary"] = binary.to_string_lossy().into_owned().into();
        }
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                // chromedriver takes a moment to listen.
                Err(error) if Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("cannot start a Chromium session: {error}"),
            }
        };
        Self {
            client,
            name: name.to_owned(),
            _driver: driver,
            _permit: permit,
        }
    }

    pub async fn open(&self, url: &str) {
        if let Err(error) = self.client.goto(url).await {
            self.fail(&format!("cannot open {url}: {error}")).await;
        }
    }

    pub async fn resize(&self, size: Size) {
        let (width, height) = size.pixels();
        self.client.set_window_size(width, height).await.unwrap();
    }

    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.unwrap()
    }

    /// The visible text of the first element matching `css`. An element that went stale (the
    /// page was replaced between finding and reading it) is looked up again.
    pub async fn text(&self, css: &str) -> String {
        for _ in 0..20 {
            match self
                .client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css(css))
                .await
            {
                Ok(element) => match element.text().await {
                    Ok(text) => return text,
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                },
                Err(error) => self.fail(&format!("no `{css}` on the page: {error}")).await,
            }
        }
        self.fail(&format!("`{css}` kept going stale")).await
    }

    /// Types `text` into the field matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element.send_keys(text).await.unwrap(),
            Err(error) => self.fail(&format!("no field `{css}`: {error}")).await,
        }
    }

    /// Clicks the element matching `css` (a submit button, a link).
    pub async fn click(&self, css: &str) {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element.click().await.unwrap(),
            Err(error) => {
                self.fail(&format!("nothing to click at `{css}`: {error}"))
                    .await
            }
        }
    }

    /// Waits until the address bar satisfies `condition`, for redirects after a submit.
    pub async fn wait_for_url(
        &self,
        what: &str,
        condition: impl Fn(&url::Url) -> bool,
    ) -> url::Url {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.url().await;
            if condition(&url) {
                return url;
            }
            if Instant::now() > deadline {
                self.fail(&format!("the browser never reached {what}; it is at {url}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` until what it returns is `expected`: a click's navigation may still be
    /// under way when WebDriver returns, and a script run mid-navigation fails or sees the old
    /// page.
    pub async fn wait_for_script(&self, what: &str, script: &str, expected: serde_json::Value) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let seen = self.client.execute(script, Vec::new()).await;
            if matches!(&seen, Ok(value) if *value == expected) {
                return;
            }
            if Instant::now() > deadline {
                self.fail(&format!("{what}: expected {expected}, saw {seen:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` in the page and returns what it returns (a layout measurement, say).
    pub async fn script(&self, script: &str) -> serde_json::Value {
        self.run_script(script, Vec::new()).await
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns what it returns.
    pub async fn run_script(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> serde_json::Value {
        match self.client.execute(script, args).await {
            Ok(value) => value,
            Err(error) => self.fail(&format!("the script failed: {error}")).await,
        }
    }

    /// Runs `script` asynchronously: it ends by calling its last argument with the result.
    pub async fn run_async_script(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> serde_json::Value {
        match self.client.execute_async(script, args).await {
            Ok(value) => value,
            Err(error) => self.fail(&format!("the script failed: {error}")).await,
        }
    }

    /// Saves a PNG of the window under target/…/browser-screenshots/ and returns its path.
    pub async fn screenshot(&self, label: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}-{label}.png", self.name));
        match self.client.screenshot().await {
            Ok(png) => std::fs::write(&path, png).unwrap(),
            Err(error) => eprintln!("no screenshot: {error}"),
        }
        path
    }

    /// Fails the test with a screenshot of what the browser showed.
    pub async fn fail(&self, message: &str) -> ! {
        let path = self.screenshot("failure").await;
        panic!("{message} (screenshot: {})", path.display());
    }

    /// Fails the test unless the page's text holds every one of `wanted`.
    pub async fn expect_texts(&self, wanted: &[&str]) {
        let body = self.text("body").await;
        for wanted in wanted {
            if !body.contains(wanted) {
                self.fail(&format!("no `{wanted}` on the page: {body}"))
                    .await;
            }
        }
    }

    /// Fails the test when something on the page is wider than the window.
    pub async fn expect_no_sideways_scroll(&self) {
        let overflow = self
            .script("return document.documentElement.scrollWidth > window.innerWidth")
            .await;
        if overflow != serde_json::json!(false) {
            self.fail("the page scrolls sideways at this width").await;
        }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
