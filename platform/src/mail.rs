//! E-mail of notifications: the outbox of notifications not yet mailed, sent through the
//! `[smtp]` server after their events' transactions have committed.

use diesel::prelude::*;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpConfig;
use crate::db::models::notifications::Notification;
use crate::db::schema::{notifications, users};
use crate::db::{Db, now_millis};
use crate::error::AppError;
use crate::pages::notifications::notification_sentence;
use crate::pages::site::{Catalogs, Lang};
use crate::services::notifications::NotificationView;

/// Messages sent per round at most, so a backlog drains in steps and never holds one
/// connection for long.
const BATCH: i64 = 50;
/// Notifications older than this are never mailed: a server configured today does not
/// send a year of history.
const MAX_AGE_MILLIS: i64 = 24 * 3600 * 1000;

/// The SMTP connection settings and what every message needs.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
    catalogs: std::sync::Arc<Catalogs>,
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
}

impl Mailer {
    pub fn new(
        config: &SmtpConfig,
        public_url: String,
        catalogs: std::sync::Arc<Catalogs>,
    ) -> Result<Self, AppError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| AppError::Config(format!("smtp.from `{}`: {e}", config.from)))?;
        let port = u16::try_from(config.port)
            .map_err(|_| AppError::Config(format!("smtp.port {} is not a port", config.port)))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host).port(port);
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
            catalogs,
        })
    }

    /// Sends the notifications not yet mailed whose readers have an address, each marked
    /// mailed once the server accepted it. One refused for a while (server down, mailbox
    /// busy) stays for the next round; one refused for good (an address that does not parse,
    /// a permanent SMTP answer) is set aside, so it never holds back those after it.
    pub async fn send_pending(&self, db: &Db) -> Result<Round, AppError> {
        let since = now_millis() - MAX_AGE_MILLIS;
        let pending: Vec<(Notification, String)> = db
            .read(move |conn| {
                Ok(notifications::table
                    .inner_join(users::table.on(users::id.eq(notifications::user_id)))
                    .filter(notifications::mailed_at.is_null())
                    .filter(notifications::mail_refused_at.is_null())
                    .filter(notifications::created_at.ge(since))
                    .filter(users::email.is_not_null())
                    .order(notifications::id.asc())
                    .limit(BATCH)
                    .select((Notification::as_select(), users::email.assume_not_null()))
                    .load(conn)?)
            })
            .await?;
        let mut round = Round::default();
        for (notification, address) in pending {
            let id = notification.id;
            let mailed = match self.send(notification, &address).await {
                Ok(()) => {
                    round.sent += 1;
                    true
                }
                Err(failure) => {
                    round.failed += 1;
                    // The notification's id only: its text may name people and scenarios.
                    tracing::warn!(notification = id, error = %failure.reason, permanent = failure.permanent, "e-mailing a notification");
                    if !failure.permanent {
                        continue;
                    }
                    false
                }
            };
            db.write(move |conn| {
                let row = diesel::update(notifications::table.find(id));
                let now = now_millis();
                if mailed {
                    row.set(notifications::mailed_at.eq(now)).execute(conn)?;
                } else {
                    row.set(notifications::mail_refused_at.eq(now))
                        .execute(conn)?;
                }
                Ok(())
            })
            .await?;
        }
        Ok(round)
    }

    /// One message, the sentence in Chinese then English, with the link.
    async fn send(&self, notification: Notification, address: &str) -> Result<(), Failure> {
        let to: Mailbox = address
            .parse()
            .map_err(|e| Failure::permanent(format!("address: {e}")))?;
        let view = NotificationView::from(notification);
        let zh = notification_sentence(&self.catalogs, Lang::Zh, &view);
        let en = notification_sentence(&self.catalogs, Lang::En, &view);
        let link = format!("{}{}", self.public_url, view.link);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            // The subject is a Chinese sentence, so its colon is the full-width one.
            .subject(format!("揭榜 Jiebang：{zh}"))
            .header(ContentType::TEXT_PLAIN)
            .body(format!("{zh}\n{en}\n\n{link}\n"))
            .map_err(|e| Failure::permanent(format!("message: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| Failure {
                permanent: e.is_permanent(),
                reason: e.to_string(),
            })
    }
}

/// Why a message was not sent, and whether trying again could change that.
struct Failure {
    reason: String,
    permanent: bool,
}

impl Failure {
    fn permanent(reason: String) -> Self {
        Self {
            reason,
            permanent: true,
        }
    }
}

/// Every ten seconds, e-mails what is pending; off the request threads, and never failing
/// an event: a notification is stored before any mail is tried.
pub fn spawn(mailer: Mailer, db: Db) {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            every.tick().await;
            match mailer.send_pending(&db).await {
                Ok(Round { sent: 0, failed: 0 }) => {}
                Ok(round) => tracing::info!(
                    sent = round.sent,
                    failed = round.failed,
                    "mailed notifications"
                ),
                Err(error) => tracing::warn!(%error, "reading notifications to e-mail"),
            }
        }
    });
}
