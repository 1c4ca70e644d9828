//! Technical reports on both backends: a team attaches a PDF to its final submission; a fake
//! or oversized one is refused with the reason; only the team, the panel and the department
//! read it, always as a PDF that never renders as a page.

use actix_web::http::Method;
use actix_web::test::TestRequest;

use crate::cli_submit::jiebang;
use crate::common::{Backend, Reply, TestApp};
use crate::consoles::{close_phases, two_evaluated};
use crate::on_both_backends;

/// A small PDF a reader opens: header, one object, cross-reference table and trailer.
pub(crate) fn pdf(text: &str) -> Vec<u8> {
    let body = format!("%PDF-1.4\n1 0 obj\n<< /Title ({text}) >>\nendobj\n",);
    let xref = body.len();
    format!(
        "{body}xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 >>\n\
         startxref\n{xref}\n%%EOF\n"
    )
    .into_bytes()
}

pub(crate) async fn attach(
    app: &TestApp,
    submission: &str,
    who: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    app.raw(
        Method::PUT,
        &format!("/api/v1/submissions/{submission}/technical-report"),
        who,
        Some("application/pdf"),
        body,
    )
    .await
}

fn stored_reports(app: &TestApp) -> i64 {
    app.count("technical_reports")
}

async fn a_team_attaches_its_report_and_only_its_readers_see_it(backend: Backend) {
    let app = TestApp::with_config(backend, |config| config.max_report_bytes = 4096).await;
    let w = app.world.clone();
    let (a, b) = two_evaluated(&app).await;
    let files_before = app.stored_files();

    // Not a PDF, cut off, or too large: refused with what is wrong, nothing stored.
    let page = b"<html><script>alert(1)</script></html>".to_vec();
    let fake = attach(&app, &a, w.alice.token(), page).await;
    assert_eq!((fake.status.as_u16(), fake.code()), (422, "not_a_pdf"));
    assert!(fake.message().contains("%PDF-"), "{}", fake.message());
    let mut cut = pdf("Team A");
    cut.truncate(cut.len() - 7);
    let cut = attach(&app, &a, w.alice.token(), cut).await;
    assert_eq!(cut.status, 422);
    assert!(cut.message().contains("%%EOF"), "{}", cut.message());
    let big = pdf(&"x".repeat(5000));
    let big = attach(&app, &a, w.alice.token(), big).await;
    assert_eq!(big.status, 413, "{:?}", big.body);
    assert!(big.message().contains("4096"), "{}", big.message());

    // Only the team's members attach: another team does not see the submission, a judge is
    // told no, an anonymous caller must sign in.
    let good = pdf("Report of the finalist");
    for (who, status) in [
        (w.bob.token(), 404),
        (w.judge.token(), 403),
        (w.konggang.token(), 404),
        (None, 401),
    ] {
        let reply = attach(&app, &a, who, good.clone()).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    assert_eq!(stored_reports(&app), 0);
    assert_eq!(
        app.stored_files(),
        files_before,
        "refused uploads leave no file"
    );

    let first = attach(&app, &a, w.alice.token(), good.clone()).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let url = format!("/api/v1/submissions/{a}/technical-report");
    assert_eq!(first.body["url"], url.as_str());
    assert_eq!(first.body["size"], good.len());
    let again = attach(&app, &a, w.alice.token(), good.clone()).await;
    assert_eq!(again.status, 200, "replaced");
    assert_eq!(stored_reports(&app), 1);

    // Served as a PDF to download or frame, never sniffed or run as a page; the file name
    // names the submission, never the team (blind review).
    let read = |token: &str| {
        TestRequest::get()
            .uri(&url)
            .insert_header(("Authorization", format!("Bearer {token}")))
    };
    let served = app.page(read(&w.alice.token)).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.text.as_bytes(), good.as_slice());
    let header = |name: &str| {
        served
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let disposition = header("content-disposition");
    assert!(
        disposition.contains(&format!("technical-report-{a}.pdf")),
        "{disposition}"
    );
    assert!(!disposition.contains("Team"), "{disposition}");
    let csp = header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'self'"),
        "{csp}"
    );
    assert_eq!(header("x-frame-options"), "SAMEORIGIN");

    // Readers: the team, the scenario's department, an admin, and judges on its panel only.
    for (who, status) in [
        (&w.bob, 404),
        (&w.carol, 404),
        (&w.fengdong, 404),
        (&w.judge, 404),
        (&w.konggang, 200),
        (&w.admin, 200),
    ] {
        let reply = app.page(read(&who.token)).await;
        assert_eq!(reply.status.as_u16(), status, "{:?}", who.id);
    }
    let assigned = app
        .put(
            &format!("/api/v1/scenarios/kg-open/panel/{}", w.judge.id),
            w.konggang.token(),
            None,
        )
        .await;
    assert_eq!(assigned.status, 201);
    assert_eq!(app.page(read(&w.judge.token)).await.status, 200);
    let missing = app
        .page(
            TestRequest::get()
                .uri(&format!("/api/v1/submissions/{b}/technical-report"))
                .insert_header(("Authorization", format!("Bearer {}", w.judge.token))),
        )
        .await;
    assert_eq!(missing.status, 404, "team B attached none");

    // The panel's view links each finalist's report.
    let finalists = app
        .get("/api/v1/scenarios/kg-open/finalists", w.judge.token())
        .await;
    assert_eq!(finalists.status, 200, "{:?}", finalists.body);
    let report_of = |team: &str| {
        finalists.body["finalists"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["team_id"] == team)
            .unwrap()["technical_report"]
            .clone()
    };
    assert_eq!(report_of(w.team_a.as_str())["url"], url.as_str());
    assert!(report_of(w.team_b.as_str()).is_null());

    // Once the final phase has closed the report stays as it was.
    close_phases(&app, "kg-open");
    let late = attach(&app, &a, w.alice.token(), pdf("late")).await;
    assert_eq!((late.status.as_u16(), late.code()), (409, "phase_closed"));
    let log = app.read(|conn| {
        use diesel::prelude::*;
        use jiebang_platform::db::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("technical_report.attach"))
            .count()
            .get_result::<i64>(conn)
    });
    assert_eq!(log, 2, "both attachments are in the audit log");
}

async fn the_command_line_attaches_a_report(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = app.world.clone();
    let submission = app.team_a_submits("an image").await;
    let base = app.serve_http();
    let dir = tempfile::tempdir().unwrap();
    let attach = |file: &str| {
        vec![
            "report".into(),
            "attach".into(),
            "--submission".into(),
            submission.clone(),
            dir.path().join(file).to_string_lossy().into_owned(),
            "--platform".into(),
            base.clone(),
            "--token".into(),
            w.alice.token.clone(),
        ]
    };
    std::fs::write(dir.path().join("report.pdf"), pdf("CLI")).unwrap();
    let done = jiebang(attach("report.pdf")).await;
    let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains(&format!("technical report of submission {submission}")));
    std::fs::write(dir.path().join("fake.pdf"), "not a pdf at all").unwrap();
    let refused = jiebang(attach("fake.pdf")).await;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("must be a PDF file"), "{stderr}");
    assert_eq!(app.count("technical_reports"), 1);
}

on_both_backends!(
    a_team_attaches_its_report_and_only_its_readers_see_it,
    the_command_line_attaches_a_report
);
