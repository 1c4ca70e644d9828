//! `jiebang admin …`: users, organisations and tokens, straight against the database.

use clap::Subcommand;

use crate::config::Config;
use crate::db::ids::OrganizationId;
use crate::db::models::organizations::{self, OrganizationForm};
use crate::db::models::tokens::{self, TokenKind};
use crate::db::models::users::{self, Role, UserForm};
use crate::db::{DatabaseUrl, Db};
use crate::error::AppError;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user, optionally with roles, departments and a first token.
    CreateUser {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// admin, judge or operator; repeat for several.
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// An organisation id the user works for as a department member; repeatable.
        #[arg(long = "department")]
        departments: Vec<String>,
        /// Also issue an API token and print it once.
        #[arg(long)]
        with_token: bool,
    },
    /// List users with their roles and departments.
    ListUsers,
    /// Remove stored files no record refers to (refused uploads, results recorded twice)
    /// that are older than the grace period, and temporaries of uploads that never finished.
    PruneFiles {
        /// Only count what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// Hours an unreferenced file is kept; `prune_after_hours` when left out.
        #[arg(long)]
        grace_hours: Option<u64>,
    },
    /// Copy the database (SQLite, while the platform runs), every stored file, the
    /// scenario packages and the session key into a new folder.
    Backup {
        /// The folder to create (it must not exist, or be empty).
        dest: std::path::PathBuf,
        /// Only the files, for a PostgreSQL platform whose database pg_dump backs up.
        #[arg(long)]
        files_only: bool,
    },
    /// Put a backup in place for this configuration's data directory and database; refuses
    /// to overwrite an existing database. Start the platform afterwards.
    Restore {
        /// A folder written by `jiebang admin backup`.
        source: std::path::PathBuf,
    },
    /// Issue an API token for a user and print it once.
    CreateToken {
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Issue a worker token (for `jiebang worker`) instead of a user token.
        #[arg(long)]
        worker: bool,
    },
    /// Add an organisation (a department that posts scenarios).
    CreateOrg {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name_zh: String,
        #[arg(long)]
        name_en: String,
    },
    /// Prices of device-hours and CPU-core-hours (docs/guide-operator.md, compute vouchers).
    #[command(subcommand)]
    Price(super::billing::PriceCommand),
    /// Compute vouchers (算力券), credit, sponsorships, refunds and totals.
    #[command(subcommand)]
    Voucher(super::billing::VoucherCommand),
    /// Make a user a member of an organisation's department.
    AddDepartmentMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        login: String,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    value
        .parse()
        .map_err(|error: jiebang_scenarios::text::UnknownName| error.to_string())
}

pub fn run(config: &Config, command: AdminCommand) -> Result<(), AppError> {
    let url = DatabaseUrl::parse(&config.database_url())?;
    // Before the database is opened: opening would create an empty one in its place.
    if let AdminCommand::Restore { source } = &command {
        let restored = crate::backup::restore(source, &url, &config.data_dir)?;
        println!(
            "restored the backup of {} ({} stored files) into {}",
            restored.manifest.created_at,
            restored.files,
            config.data_dir.display()
        );
        return Ok(());
    }
    let db = Db::open(&url, 1)?;
    match command {
        AdminCommand::Restore { .. } => {}
        AdminCommand::Price(command) => super::billing::run_price(&db, command)?,
        AdminCommand::Voucher(command) => super::billing::run_voucher(&db, command)?,
        AdminCommand::Backup { dest, files_only } => {
            let manifest = crate::backup::backup(&db, &url, &config.data_dir, &dest, files_only)?;
            println!(
                "backed up {} database and {} stored files ({} bytes) into {}",
                manifest.database,
                manifest.files,
                manifest.file_bytes,
                dest.display()
            );
        }
        AdminCommand::CreateUser {
            login,
            name,
            email,
            roles,
            departments,
            with_token,
        } => {
            let form = UserForm {
                login,
                display_name: name,
                email,
                roles,
                departments: departments.into_iter().map(OrganizationId).collect(),
            };
            let (user, token) = db.write_blocking(|conn| {
                let user = users::create(conn, form, None)?;
                let token = if with_token {
                    Some(tokens::issue(conn, &user.id, "cli", TokenKind::User, None)?)
                } else {
                    None
                };
                Ok((user, token))
            })?;
            println!("created user {} ({})", user.login, user.id);
            if let Some(token) = token {
                println!("token (shown once): {}", token.token);
            }
        }
        AdminCommand::ListUsers => {
            let rows = db.read_blocking(|conn| {
                users::list(conn)?
                    .into_iter()
                    .map(|user| {
                        let roles = users::roles_of(conn, &user.id)?;
                        let departments = users::departments_of(conn, &user.id)?;
                        Ok((user, roles, departments))
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })?;
            for (user, roles, departments) in rows {
                let roles: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
                let departments: Vec<_> = departments.iter().map(|d| d.as_str()).collect();
                println!(
                    "{}\t{}\t{}\troles={}\tdepartments={}",
                    user.id,
                    user.login,
                    user.display_name,
                    roles.join(","),
                    departments.join(",")
                );
            }
        }
        AdminCommand::CreateToken {
            login,
            name,
            worker,
        } => {
            let kind = if worker {
                TokenKind::Worker
            } else {
                TokenKind::User
            };
            let token = db.write_blocking(|conn| {
                let user = users::find_by_login(conn, &login)?
                    .ok_or_else(|| AppError::missing("user", &login))?;
                tokens::issue(conn, &user.id, &name, kind, None)
            })?;
            println!("token {} (shown once): {}", token.id, token.token);
        }
        AdminCommand::CreateOrg {
            id,
            name_zh,
            name_en,
        } => {
            let form = OrganizationForm {
                id: OrganizationId(id),
                name_zh,
                name_en,
            };
            let organization = db.write_blocking(|conn| organizations::create(conn, form, None))?;
            println!("created organisation {}", organization.id);
        }
        AdminCommand::PruneFiles {
            dry_run,
            grace_hours,
        } => {
            let grace = std::time::Duration::from_secs(
                grace_hours
                    .unwrap_or(config.prune_after_hours)
                    .saturating_mul(3600),
            );
            let blobs = crate::storage::BlobStore::new(&config.data_dir);
            let report = crate::services::retention::prune(&db, &blobs, grace, dry_run)?;
            println!(
                "{} {} unreferenced file(s), {} bytes; kept {} referenced, {} too young; {} stale upload temporaries removed",
                if dry_run { "would remove" } else { "removed" },
                report.removed,
                report.removed_bytes,
                report.kept,
                report.too_young,
                report.temporaries_removed
            );
        }
        AdminCommand::AddDepartmentMember { org, login } => {
            let organization = OrganizationId(org);
            db.write_blocking(|conn| {
                if !organizations::exists(conn, &organization)? {
                    return Err(AppError::missing("organisation", &organization));
                }
                let user = users::find_by_login(conn, &login)?
                    .ok_or_else(|| AppError::missing("user", &login))?;
                users::add_to_department(conn, &user.id, &organization, None)
            })?;
            println!("{login} is now a member of {organization}");
        }
    }
    Ok(())
}
