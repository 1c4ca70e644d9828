//! The site's small courtesies: HEAD answers like GET, a favicon, and sign-in links that
//! never nest the sign-in page inside its own `return_to`.

use actix_web::test::TestRequest;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

async fn head_favicon_and_unnested_sign_in_links(backend: Backend) {
    let app = TestApp::new(backend).await;
    for path in [
        "/",
        "/scenarios/kg-open",
        "/api/v1/scenarios",
        "/favicon.ico",
    ] {
        let head = app
            .page(
                TestRequest::default()
                    .method(actix_web::http::Method::HEAD)
                    .uri(path),
            )
            .await;
        assert_eq!(head.status, 200, "HEAD {path}");
    }
    let icon = app.page(TestRequest::get().uri("/favicon.ico")).await;
    assert_eq!(icon.status, 200);
    assert_eq!(
        icon.headers.get("content-type").unwrap().to_str().unwrap(),
        "image/x-icon"
    );
    // Visiting the sign-in page again and again keeps one level of return_to.
    let mut path = "/auth/login?return_to=%2Fscenarios%2Fkg-open".to_owned();
    for _ in 0..3 {
        let page = app.page(TestRequest::get().uri(&path)).await;
        assert_eq!(page.status, 200);
        assert!(
            !page.text.contains("%252F") && !page.text.contains("return_to%3D"),
            "a nested return_to on {path}"
        );
        assert!(
            page.text
                .contains("return_to&#x3D;%2Fscenarios%2Fkg-open&amp;lang&#x3D;en"),
            "the language link stays on the sign-in page: {}",
            page.text
        );
        let link = page
            .text
            .split("href=\"")
            .filter_map(|rest| rest.split('"').next())
            .map(|href| href.replace("&amp;", "&").replace("&#x3D;", "="))
            .find(|href| href.starts_with("/auth/login?") && !href.contains("lang="))
            .expect("the sign-in link");
        path = link;
    }
    assert!(path.contains("return_to=%2Fscenarios%2Fkg-open"), "{path}");
}

async fn codes_are_named_in_the_pages_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let zh = app.page(TestRequest::get().uri("/scenarios/kg-open")).await;
    for name in ["准确率", "越高越好", "在线服务", "物流"] {
        assert!(zh.text.contains(name), "{name} missing");
    }
    let en = app
        .page(TestRequest::get().uri("/scenarios/kg-open?lang=en"))
        .await;
    for name in ["higher is better", "online service", "logistics"] {
        assert!(en.text.contains(name), "{name} missing");
    }
    for code in [">serve<", ">accuracy (", "higher)"] {
        assert!(
            !zh.text.contains(code),
            "raw code {code} on the Chinese page"
        );
    }
}

on_both_backends!(
    head_favicon_and_unnested_sign_in_links,
    codes_are_named_in_the_pages_language
);
