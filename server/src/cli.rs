//! The command line (see docs/api.md): `serve`, and `user add` / `user reset-password` with the
//! password read from stdin.

use std::{
    io::{BufRead as _, IsTerminal as _, Write as _},
    net::SocketAddr,
    path::PathBuf,
};

use anyhow::{Context as _, bail};
use app::validate::{Email, NewPassword, Username};
use clap::{Args, Parser, Subcommand};

use crate::{
    Application,
    auth::password,
    config::{Config, Overrides},
    startup::shutdown_signal,
    store::{NewUser, Store, users::Creation},
    telemetry,
};

/// brickdesk: a self-hosted back office for BrickLink and BrickOwl sellers.
#[derive(Debug, Parser)]
#[command(name = "brickdesk", version = crate::version::LONG, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage accounts (stop the server first: the data directory is opened exclusively).
    #[command(subcommand)]
    User(UserCommand),
    /// Run the BrickLink and BrickOwl simulator alone (for trying brickdesk out and for tests).
    Sim(SimArgs),
    /// Write a backup of every order, list, job and account to a file; works while the server
    /// runs (it asks the server through the data directory's control file).
    Backup(BackupArgs),
    /// Restore a backup into an empty data directory (stop the server first).
    Restore(RestoreArgs),
    /// Show the one-time code that creating the first account asks for from another machine
    /// (while the server runs and no account exists).
    SetupCode(Location),
    /// Check what breaks home installs (data directory, clock, public URL, live updates
    /// through the proxy, backups, BrickOwl's notify port) and say how to fix each.
    Doctor(Location),
    /// Say what this binary will do to the store in the data directory when it starts (its
    /// schema against this build's, the migrations, the backup taken first).
    UpgradeCheck(Location),
    /// Ask the server at the configured listen address whether it is alive (for container
    /// health checks); exits 1 when it is not.
    Healthcheck(Location),
}

#[derive(Debug, Args)]
struct BackupArgs {
    #[command(flatten)]
    location: Location,
    /// The backup file to write.
    #[arg(long)]
    out: PathBuf,
    /// Also store the key that unlocks the saved marketplace keys. Anyone with the file can
    /// then use your BrickLink and BrickOwl keys: keep it as safe as the server.
    #[arg(long)]
    with_secret_key: bool,
    /// Copy every stored byte without reading any record, for a store that no longer opens
    /// (a damaged record). The server must be stopped.
    #[arg(long)]
    salvage: bool,
}

#[derive(Debug, Args)]
struct RestoreArgs {
    #[command(flatten)]
    location: Location,
    /// The backup file to read.
    #[arg(long = "in")]
    input: PathBuf,
    /// Replace the database and key in a data directory that is not empty.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct SimArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Seed of the simulated world: the same seed gives the same orders and keys.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Where the configuration and data live.
#[derive(Debug, Args)]
struct Location {
    /// TOML config file (see assets/brickdesk.example.toml).
    #[arg(long, env = "BRICKDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory [default: ./brickdesk-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    location: Location,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free one.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Try brickdesk without marketplace accounts: simulated BrickLink and BrickOwl stores,
    /// and a `demo` user (password `demo`) connected to them.
    #[arg(long)]
    demo: bool,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from stdin.
    Add {
        #[command(flatten)]
        location: Location,
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List every account.
    List {
        #[command(flatten)]
        location: Location,
    },
    /// Disable an account: it cannot log in, and its sessions end.
    Disable {
        #[command(flatten)]
        location: Location,
        /// Username or email.
        #[arg(long)]
        login: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[command(flatten)]
        location: Location,
        /// Username or email.
        #[arg(long)]
        login: String,
    },
    /// Set a new password (read from stdin) and end the account's sessions.
    ResetPassword {
        #[command(flatten)]
        location: Location,
        /// Username or email.
        #[arg(long)]
        login: String,
    },
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Sim(args) => sim(args).await,
        Command::SetupCode(location) => {
            let data_dir = data_dir(&location)?;
            match crate::setup_code::read(&data_dir) {
                Some(code) => say(&code),
                None => bail!(
                    "no setup code in {}: the first account exists already, or the server has \
                     not started there yet",
                    data_dir.display()
                ),
            }
            Ok(())
        }
        Command::Backup(args) => backup(args).await,
        Command::Doctor(location) => {
            let config = Config::load(location.config.as_deref(), &overrides(&location))?;
            let findings = crate::doctor::examine(&config).await;
            for finding in &findings {
                say(&finding.line());
            }
            let failed = findings
                .iter()
                .filter(|f| f.verdict == crate::doctor::Verdict::Fail)
                .count();
            if failed > 0 {
                bail!("{failed} check(s) failed; see the fixes above");
            }
            Ok(())
        }
        Command::UpgradeCheck(location) => {
            let data_dir = data_dir(&location)?;
            let (said, opens) = crate::doctor::upgrade_check(&data_dir).await?;
            say(&said);
            if !opens {
                bail!("this brickdesk cannot open that store");
            }
            Ok(())
        }
        Command::Healthcheck(location) => {
            let config = Config::load(location.config.as_deref(), &overrides(&location))?;
            crate::doctor::healthcheck(config.listen).await
        }
        Command::Restore(args) => {
            let data_dir = data_dir(&args.location)?;
            let (input, force) = (args.input, args.force);
            let key = data_dir.join("secret.key");
            let header = tokio::task::spawn_blocking(move || {
                crate::backup::restore(&input, &data_dir, force)
            })
            .await??;
            say(&format!(
                "restored the backup of {} ({} entries){}",
                header.created_at,
                header.trees.values().sum::<u64>(),
                if header.with_secret_key {
                    ""
                } else if key.exists() {
                    "; it holds no secret.key, so the data directory's own key was kept (if the \
                     saved marketplace keys do not open, enter them again in Settings)"
                } else {
                    "; it holds no secret.key, so enter the marketplace keys again in Settings"
                }
            ));
            Ok(())
        }
        Command::User(UserCommand::Add {
            location,
            username,
            email,
            admin,
        }) => {
            let username = Username::parse(&username)?;
            let email = Email::parse(&email)?;
            // The one command that may start a store: the first account can be made before
            // the server ever ran. Every other command wants an existing one.
            let store = open_store_creating(&location)?;
            let password = read_new_password()?;
            let password_hash = password::hash(password.expose().to_owned()).await?;
            let user = store.users().create(
                NewUser {
                    username,
                    email,
                    is_admin: admin,
                    password_hash,
                },
                Creation::Any,
            )?;
            store.flush().await?;
            say(&format!(
                "created {} {} (id {})",
                if user.is_admin { "admin" } else { "user" },
                user.username,
                user.id
            ));
            Ok(())
        }
        Command::User(UserCommand::List { location }) => {
            let store = open_store(&location)?;
            let mut users = store.users().list()?;
            users.sort_by_key(|u| u.id);
            say(&format!(
                "{:>4}  {:<20} {:<32} {:<6} {:<9} created",
                "id", "username", "email", "role", "state"
            ));
            for u in users {
                say(&format!(
                    "{:>4}  {:<20} {:<32} {:<6} {:<9} {}",
                    u.id,
                    u.username,
                    u.email,
                    if u.is_admin { "admin" } else { "user" },
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at.date()
                ));
            }
            Ok(())
        }
        Command::User(UserCommand::Disable { location, login }) => {
            set_disabled(&location, &login, true).await
        }
        Command::User(UserCommand::Enable { location, login }) => {
            set_disabled(&location, &login, false).await
        }
        Command::User(UserCommand::ResetPassword { location, login }) => {
            let store = open_store(&location)?;
            let Some(user) = store.users().find_by_login(&login)? else {
                bail!("no account has the username or email {login:?}");
            };
            let password = read_new_password()?;
            let hash = password::hash(password.expose().to_owned()).await?;
            store.users().set_password_hash(user.id, &hash)?;
            let ended = store.sessions().remove_all_for(user.id, None)?;
            store.flush().await?;
            say(&format!(
                "password changed for {}; {ended} session(s) ended",
                user.username
            ));
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.location.data_dir,
    };
    let mut config = Config::load(args.location.config.as_deref(), &overrides)?;
    telemetry::init(&config.log, config.log_format);
    if args.demo && config.data_dir == Config::default().data_dir {
        // The demo keeps to its own directory unless told otherwise.
        config.data_dir = crate::demo::DATA_DIR.into();
        tracing::info!(
            data_dir = crate::demo::DATA_DIR,
            "demo mode: its own data directory"
        );
    }
    let simulator = match args.demo {
        true => Some(crate::demo::start_simulator(&mut config).await?),
        false => None,
    };
    tracing::debug!(?config, "configuration");
    let app = Application::build(config).await?;
    if let Some(sim) = &simulator {
        crate::demo::prepare(app.state(), sim).await?;
        tokio::spawn(crate::demo::keep_selling(
            sim.sim.clone(),
            app.state().stopping.clone(),
        ));
    }
    let addr = app.local_addr()?;
    say(&format!("listening on http://{addr}"));
    if simulator.is_some() {
        say("demo: log in as demo / demo");
    }
    app.run_until_stopped(shutdown_signal()).await
}

/// `user disable` / `user enable`.
async fn set_disabled(location: &Location, login: &str, disabled: bool) -> anyhow::Result<()> {
    let store = open_store(location)?;
    let Some(user) = store.users().find_by_login(login)? else {
        bail!("no account has the username or email {login:?}");
    };
    store.users().set_disabled(user.id, disabled)?;
    let ended = if disabled {
        store.sessions().remove_all_for(user.id, None)?
    } else {
        0
    };
    store.flush().await?;
    say(&if disabled {
        format!("{} is disabled; {ended} session(s) ended", user.username)
    } else {
        format!("{} can log in again", user.username)
    });
    Ok(())
}

fn overrides(location: &Location) -> Overrides {
    Overrides {
        listen: None,
        data_dir: location.data_dir.clone(),
    }
}

fn data_dir(location: &Location) -> anyhow::Result<PathBuf> {
    Ok(Config::load(location.config.as_deref(), &overrides(location))?.data_dir)
}

/// `brickdesk backup`: straight from the store when no server runs, else through the server.
async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let data_dir = data_dir(&args.location)?;
    if args.with_secret_key {
        eprintln!(
            "warning: the backup will hold secret.key; anyone with the file can use the saved \
             marketplace keys"
        );
    }
    let out = args.out.clone();
    if args.salvage {
        let with_key = args.with_secret_key;
        let (header, cut) =
            tokio::task::spawn_blocking(move || crate::backup::salvage(&data_dir, &out, with_key))
                .await??;
        say(&format!(
            "salvaged {} entries of {} trees into {} without reading them{}",
            header.trees.values().sum::<u64>(),
            header.trees.len(),
            args.out.display(),
            if cut.is_empty() {
                String::new()
            } else {
                format!("; sled could not read on in: {}", cut.join("; "))
            }
        ));
        return Ok(());
    }
    let opened = {
        let data_dir = data_dir.clone();
        tokio::task::spawn_blocking(move || Store::open_existing(&data_dir)).await?
    };
    let header = match opened {
        Ok(store) => {
            let with_key = args.with_secret_key;
            tokio::task::spawn_blocking(move || {
                crate::backup::write(&store, &data_dir, &out, with_key)
            })
            .await??
        }
        Err(crate::store::StoreError::InUse(_)) => {
            let Some(control) = crate::control::read(&data_dir) else {
                bail!(
                    "the data directory {} is in use, but no running brickdesk says where it \
                     listens (control.json is missing); stop the other process and try again",
                    data_dir.display()
                );
            };
            let mut response = reqwest::Client::new()
                .post(format!("{}{}", control.url, app::routes::ADMIN_BACKUP))
                .header(crate::control::HEADER, &control.token)
                .json(&serde_json::json!({"with_secret_key": args.with_secret_key}))
                .send()
                .await
                .with_context(|| {
                    format!("cannot reach the running brickdesk at {}", control.url)
                })?;
            if !response.status().is_success() {
                bail!(
                    "the running brickdesk refused the backup: HTTP {} {}",
                    response.status(),
                    response.text().await.unwrap_or_default()
                );
            }
            let partial = args.out.with_extension("download.partial");
            let mut file = tokio::fs::File::create(&partial).await?;
            while let Some(chunk) = response.chunk().await? {
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
            }
            file.sync_all().await?;
            drop(file);
            let checked = {
                let partial = partial.clone();
                tokio::task::spawn_blocking(move || crate::backup::verify(&partial)).await?
            };
            let header = match checked {
                Ok(header) => header,
                Err(err) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(err.into());
                }
            };
            std::fs::rename(&partial, &args.out)?;
            #[cfg(unix)]
            std::fs::set_permissions(
                &args.out,
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )?;
            header
        }
        Err(err) => return Err(err.into()),
    };
    say(&format!(
        "backup written to {}: {} entries in {} trees, {} bytes, sha256 {}",
        args.out.display(),
        header.trees.values().sum::<u64>(),
        header.trees.len(),
        header.body_bytes,
        header.sha256
    ));
    Ok(())
}

/// The store in the configured data directory; an error when there is none (a mistyped
/// `--data-dir` must not produce an empty store).
fn open_store(location: &Location) -> anyhow::Result<Store> {
    Ok(Store::open_existing(&data_dir(location)?)?)
}

/// The store in the configured data directory, created when there is none.
fn open_store_creating(location: &Location) -> anyhow::Result<Store> {
    Ok(Store::open(&data_dir(location)?)?)
}

/// Reads a new password: prompted twice on a terminal, else the first line of stdin.
fn read_new_password() -> anyhow::Result<NewPassword> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Ok(NewPassword::parse(&password, "password")?)
}

/// Serves the simulator until Ctrl-C or SIGTERM, printing where it listens and the keys of
/// its simulated sellers.
async fn sim(args: SimArgs) -> anyhow::Result<()> {
    telemetry::init("info", crate::config::LogFormat::Text);
    let config = crate::sim::SimConfig {
        seed: args.seed,
        ..crate::sim::SimConfig::default()
    };
    let server = crate::sim::SimServer::start(crate::sim::Sim::new(&config), args.listen).await?;
    say(&format!("listening on http://{}", server.addr));
    say(&format!(
        "BRICKDESK_BRICKLINK_BASE_URL={}",
        server.bricklink_url()
    ));
    say(&format!(
        "BRICKDESK_BRICKOWL_BASE_URL={}",
        server.brickowl_url()
    ));
    for keys in server.sim.all_keys() {
        say(&format!(
            "{}: BrickLink consumer key {} / consumer secret {} / token {} / token secret {}; \
             BrickOwl key {}",
            keys.seller,
            keys.bricklink.consumer_key,
            keys.bricklink.consumer_secret,
            keys.bricklink.token_value,
            keys.bricklink.token_secret,
            keys.brickowl.api_key
        ));
    }
    server.wait(shutdown_signal()).await;
    Ok(())
}

/// One line on stdout, flushed at once (scripts wait for it). A reader that went away (a
/// closed pipe) is no reason to stop serving, so write errors are ignored.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
