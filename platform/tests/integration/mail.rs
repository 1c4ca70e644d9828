//! E-mail of notifications through a real SMTP server program (aiosmtpd from PyPI, which
//! the test command installs): each pending notification mailed once, to its reader's
//! address, in both languages; nothing for readers without an address.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use jiebang_platform::config::{Secret, SmtpConfig};
use jiebang_platform::db::models::notifications::{self, Notice, NotificationKind};
use jiebang_platform::db::schema::users;
use jiebang_platform::mail::{Mailer, Round};

use crate::binary::free_port;
use crate::common::{Backend, TestApp};
use crate::on_both_backends;

/// aiosmtpd storing every message it accepts in a maildir; stopped when dropped.
struct SmtpServer {
    child: Child,
    port: u16,
}

impl SmtpServer {
    fn start(maildir: &Path) -> Option<Self> {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(15) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Self { child, port })
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each message the server stored, decoded by Python's `email` package as a mail client
/// would: its headers, then `Subject:` and the body as text.
fn messages(maildir: &Path) -> Vec<String> {
    const DECODE: &str = "import email, email.policy, sys\n\
        m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n\
        print(m['from']); print(m['to']); print('Subject:', m['subject']); print(m.get_content())";
    let mut texts: Vec<String> = std::fs::read_dir(maildir.join("new"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let out = Command::new("python3")
                        .args(["-c", DECODE])
                        .arg(entry.path())
                        .output()
                        .ok()?;
                    String::from_utf8(out.stdout).ok()
                })
                .collect()
        })
        .unwrap_or_default();
    texts.sort();
    texts
}

/// Alice gets an address and Bob none; both are invited to the team `team`.
fn invite_alice_with_an_address_and_bob_without(app: &TestApp, team: &str) {
    let w = &app.world;
    let (alice, bob) = (w.alice.id.clone(), w.bob.id.clone());
    let params = serde_json::json!({"team": team, "inviter": "bob"});
    app.state
        .db
        .write_blocking(move |conn| {
            diesel::update(users::table.find(&alice))
                .set(users::email.eq("alice@example.org"))
                .execute(conn)?;
            diesel::update(users::table.find(&bob))
                .set(users::email.eq(None::<String>))
                .execute(conn)?;
            let notice = Notice {
                kind: NotificationKind::Invitation,
                params,
                link: "/invitations".to_owned(),
            };
            notifications::notify(conn, &[alice, bob], &notice)?;
            Ok(())
        })
        .unwrap();
}

async fn notifications_are_mailed_once_to_readers_with_an_address(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    // aiosmtpd makes the maildir's own folders only when it makes the maildir.
    let maildir = folder.path().join("mail");
    let Some(server) = SmtpServer::start(&maildir) else {
        jiebang_sandboxes::testing::skip_or_fail(
            "aiosmtpd is missing: scripts/test installs it (pip install aiosmtpd)",
        );
        return;
    };
    let app = TestApp::new(backend).await;
    // Bob has no address: his notification stays in the app only.
    invite_alice_with_an_address_and_bob_without(&app, "星火队");

    let config = SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: u32::from(server.port),
        from: "Jiebang <noreply@jiebang.test>".to_owned(),
        username: None,
        password: None::<Secret>,
    };
    let mailer = Mailer::new(
        &config,
        "https://jiebang.test/".to_owned(),
        app.state.site.catalogs.clone(),
    )
    .unwrap();
    let first = mailer.send_pending(&app.state.db).await.unwrap();
    assert_eq!(first, Round { sent: 1, failed: 0 });
    let again = mailer.send_pending(&app.state.db).await.unwrap();
    assert_eq!(
        again,
        Round::default(),
        "a mailed notification is never sent twice"
    );

    let received = messages(&maildir);
    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert!(message.contains("alice@example.org"), "{message}");
    assert!(message.contains("noreply@jiebang.test"), "{message}");
    assert!(
        message.contains("https://jiebang.test/invitations"),
        "{message}"
    );
    assert!(
        message.contains("Subject: 揭榜 Jiebang：bob 邀请您加入团队“星火队”"),
        "{message}"
    );
    assert!(
        message.contains("bob invited you to join the team “星火队”."),
        "{message}"
    );
}

async fn a_refusing_server_leaves_the_notification_for_the_next_round(backend: Backend) {
    let app = TestApp::new(backend).await;
    invite_alice_with_an_address_and_bob_without(&app, "T");
    // Nothing listens on this port.
    let config = SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: u32::from(free_port()),
        from: "noreply@jiebang.test".to_owned(),
        username: None,
        password: None,
    };
    let mailer = Mailer::new(
        &config,
        "http://x".to_owned(),
        app.state.site.catalogs.clone(),
    )
    .unwrap();
    let round = mailer.send_pending(&app.state.db).await.unwrap();
    assert_eq!(round, Round { sent: 0, failed: 1 });
    let round = mailer.send_pending(&app.state.db).await.unwrap();
    assert_eq!(round.failed, 1, "still pending, tried again");
}

async fn an_address_refused_for_good_is_set_aside(backend: Backend) {
    let app = TestApp::new(backend).await;
    invite_alice_with_an_address_and_bob_without(&app, "T");
    let bob = app.world.bob.id.clone();
    app.state
        .db
        .write_blocking(move |conn| {
            diesel::update(users::table.find(&bob))
                .set(users::email.eq("not an address"))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    // Nothing listens here: Alice's mail fails for now, Bob's address for good.
    let config = SmtpConfig {
        host: "127.0.0.1".to_owned(),
        port: u32::from(free_port()),
        from: "noreply@jiebang.test".to_owned(),
        username: None,
        password: None,
    };
    let mailer = Mailer::new(
        &config,
        "http://x".to_owned(),
        app.state.site.catalogs.clone(),
    )
    .unwrap();
    let first = mailer.send_pending(&app.state.db).await.unwrap();
    assert_eq!(first, Round { sent: 0, failed: 2 });
    let second = mailer.send_pending(&app.state.db).await.unwrap();
    assert_eq!(
        second,
        Round { sent: 0, failed: 1 },
        "only Alice's is tried again; Bob's never blocks the queue"
    );
}

on_both_backends!(
    notifications_are_mailed_once_to_readers_with_an_address,
    a_refusing_server_leaves_the_notification_for_the_next_round,
    an_address_refused_for_good_is_set_aside
);
