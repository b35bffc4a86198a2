//! The `brickdesk` commands beside `serve`: `user` (passwords from stdin, list, disable,
//! enable), `backup` while serving and `restore`, `setup-code`, a mistyped data directory,
//! and the systemd unit.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{BIN, PASSWORD, Served, login, run_with_stdin};
use serde_json::json;

#[tokio::test]
async fn user_add_and_reset_password_read_passwords_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    let added = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--admin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("created admin bob"));

    let short = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "eve",
            "--email",
            "eve@example.com",
        ],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));

    let duplicate = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "BOB",
            "--email",
            "x@example.com",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already taken"));

    let reset = run_with_stdin(
        &[
            "user",
            "reset-password",
            "--data-dir",
            data,
            "--login",
            "bob@example.com",
        ],
        "a different password\n",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );

    let unknown = run_with_stdin(
        &[
            "user",
            "reset-password",
            "--data-dir",
            data,
            "--login",
            "nobody",
        ],
        "a different password\n",
    );
    assert!(!unknown.status.success());

    let served = Served::start(dir.path());
    let setup: serde_json::Value = reqwest::get(format!("{}/api/setup", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        setup["needed"], false,
        "an account made on the command line completes setup"
    );
    assert_eq!(login(&served.base, "bob", PASSWORD).await, 401);
    assert_eq!(
        login(&served.base, "bob", "a different password").await,
        200
    );
}

#[tokio::test]
async fn backup_works_while_serving_and_restore_wants_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let answer = reqwest::Client::new()
        .post(format!("{}/api/setup", served.base))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let files = tempfile::tempdir().unwrap();
    let out = files.path().join("shop.backup");
    let (data, file) = (dir.path().display().to_string(), out.display().to_string());
    let made = tokio::task::spawn_blocking(move || {
        run_with_stdin(&["backup", "--data-dir", &data, "--out", &file], "")
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(said.contains("backup written to"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads a backup");
    }
    served.signal("-TERM");
    tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    // With the server stopped, straight from the store.
    let offline = files.path().join("offline.backup");
    let (data, file) = (
        dir.path().display().to_string(),
        offline.display().to_string(),
    );
    let made = run_with_stdin(&["backup", "--data-dir", &data, "--out", &file], "");
    assert!(made.status.success());
    assert!(offline.exists());

    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("data");
    let target_text = target.display().to_string();
    let file = out.display().to_string();
    let restored = run_with_stdin(&["restore", "--data-dir", &target_text, "--in", &file], "");
    let said = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "{said}");
    assert!(said.contains("enter the marketplace keys again"), "{said}");
    let twice = run_with_stdin(&["restore", "--data-dir", &target_text, "--in", &file], "");
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("is not empty"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let again = Served::start(&target);
    assert_eq!(login(&again.base, "anna", PASSWORD).await, 200);
}

#[tokio::test]
async fn user_list_disable_and_enable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let added = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "carol",
            "--email",
            "carol@example.com",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(added.status.success());
    let disabled = run_with_stdin(
        &["user", "disable", "--data-dir", data, "--login", "carol"],
        "",
    );
    assert!(disabled.status.success());
    assert!(String::from_utf8_lossy(&disabled.stdout).contains("carol is disabled"));
    let listed = run_with_stdin(&["user", "list", "--data-dir", data], "");
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("carol") && l.contains("disabled")),
        "{table}"
    );

    let served = Served::start(dir.path());
    assert_eq!(login(&served.base, "carol", PASSWORD).await, 403);
    served.signal("-TERM");
    tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    let enabled = run_with_stdin(
        &["user", "enable", "--data-dir", data, "--login", "carol"],
        "",
    );
    assert!(enabled.status.success());
    let served = Served::start(dir.path());
    assert_eq!(login(&served.base, "carol", PASSWORD).await, 200);
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed; skipping");
        return;
    };
    if !probe.status.success() {
        return;
    }
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/brickdesk.service"
    ))
    .unwrap();
    assert!(unit.contains("NoNewPrivileges=yes") && unit.contains("ProtectSystem=strict"));
    assert!(unit.contains("StateDirectory=brickdesk") && unit.contains("PrivateTmp=yes"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brickdesk.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/brickdesk", BIN)).unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{said}");
    assert!(
        !said.contains("brickdesk.service"),
        "no complaint about the unit: {said}"
    );
}

#[test]
fn commands_on_a_mistyped_data_directory_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("brickdesk-dtaa");
    let typo_text = typo.display().to_string();
    let out = dir.path().join("shop.backup").display().to_string();
    for args in [
        vec!["user", "list", "--data-dir", &typo_text],
        vec![
            "user",
            "disable",
            "--data-dir",
            &typo_text,
            "--login",
            "anna",
        ],
        vec!["backup", "--data-dir", &typo_text, "--out", &out],
    ] {
        let ran = run_with_stdin(&args, "");
        let said = String::from_utf8_lossy(&ran.stderr);
        assert!(!ran.status.success(), "{args:?}");
        assert!(said.contains("no brickdesk data in"), "{args:?}: {said}");
        assert!(!typo.exists(), "{args:?} created the directory");
    }
    assert!(!dir.path().join("shop.backup").exists());
}

#[tokio::test]
async fn setup_code_shows_the_code_until_the_first_account_exists() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let data = dir.path().display().to_string();
    let shown = run_with_stdin(&["setup-code", "--data-dir", &data], "");
    let code = String::from_utf8_lossy(&shown.stdout).trim().to_owned();
    assert!(shown.status.success());
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(code.as_bytes()[4], b'-', "{code}");
    let answer = reqwest::Client::new()
        .post(format!("{}/api/setup", served.base))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "from the server itself no code is needed"
    );
    let after = run_with_stdin(&["setup-code", "--data-dir", &data], "");
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("first account exists"));
}

/// A store with a damaged record no longer opens: the refusal names the tree and key (`serve`
/// listens first, reading its orders index in the background, then stops with the same
/// words), and `backup --salvage` still copies every byte (without reading the records) for
/// repair.
#[test]
fn a_damaged_store_is_named_and_salvaged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let store = server::store::Store::open(&data).unwrap();
        let rows = store.db().open_tree("orders").unwrap();
        let mut key = vec![0xFF, b'r'];
        key.extend_from_slice(&1u64.to_be_bytes());
        key.push(app::Marketplace::BrickLink.tag());
        key.extend_from_slice(&7u64.to_be_bytes());
        rows.insert(key, &b"damaged: {\"summary\": tru"[..])
            .unwrap();
        store
            .db()
            .open_tree("notes")
            .unwrap()
            .insert("a", "b")
            .unwrap();
        store.flush_blocking().unwrap();
    }
    let data_text = data.display().to_string();
    let out = dir.path().join("shop.backup");
    let out_text = out.display().to_string();
    let plain = run_with_stdin(
        &["backup", "--data-dir", &data_text, "--out", &out_text],
        "",
    );
    let said = String::from_utf8_lossy(&plain.stderr);
    assert!(!plain.status.success());
    assert!(
        said.contains("the orders record ff720000000000000001") && said.contains("--salvage"),
        "{said}"
    );
    assert!(!out.exists());

    let salvaged = run_with_stdin(
        &[
            "backup",
            "--salvage",
            "--data-dir",
            &data_text,
            "--out",
            &out_text,
        ],
        "",
    );
    let told = String::from_utf8_lossy(&salvaged.stdout);
    assert!(
        salvaged.status.success(),
        "{}",
        String::from_utf8_lossy(&salvaged.stderr)
    );
    assert!(told.contains("without reading them"), "{told}");

    let mut served = Served::start_with(
        &data,
        &[("BRICKDESK_LOG", "error")],
        std::process::Stdio::piped(),
    );
    let mut stderr = served.child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut said = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
        let _ = tx.send(said);
    });
    let said = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("serve stops by itself on a damaged store");
    let status = served.wait();
    assert!(!status.success());
    assert!(
        said.contains("the orders record ff720000000000000001") && said.contains("--salvage"),
        "{said}"
    );

    let bytes = std::fs::read(&out).unwrap();
    let needle: &[u8] = b"damaged: {\"summary\": tru";
    assert!(
        bytes.windows(needle.len()).any(|w| w == needle),
        "the damaged record's bytes are in the backup"
    );
}

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `--version`, `upgrade-check` before and after an upgrade (with the backup the server takes
/// before migrating), `healthcheck`, and `doctor` against a server that is its own public URL.
#[tokio::test]
async fn version_upgrade_check_healthcheck_and_doctor_say_what_they_found() {
    let version = run(&["--version"], &[]);
    let said = stdout(&version);
    assert!(
        said.starts_with(&format!("brickdesk {} (", env!("CARGO_PKG_VERSION")))
            && said.contains(", built ")
            && said.contains("linux"),
        "{said}"
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let empty = run(&["upgrade-check", "--data-dir", data], &[]);
    assert!(empty.status.success());
    assert!(stdout(&empty).contains("no store in"), "{}", stdout(&empty));

    // A store left at schema 1 by an older brickdesk.
    drop(server::store::Store::open(dir.path()).unwrap());
    {
        let db = sled::open(dir.path().join("db")).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &1u32.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let before = run(&["upgrade-check", "--data-dir", data], &[]);
    let plan = stdout(&before);
    assert!(before.status.success(), "{plan}");
    assert!(
        plan.contains("at schema 1")
            && plan.contains("back up the store")
            && plan.contains("schema 2: store the orders' index rows beside them"),
        "{plan}"
    );

    let served = Served::start(dir.path());
    let backups: Vec<String> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        backups
            .iter()
            .any(|n| n.starts_with("before-schema-2-") && n.ends_with(".backup")),
        "{backups:?}"
    );
    let after = run(&["upgrade-check", "--data-dir", data], &[]);
    assert!(
        stdout(&after).contains("nothing to migrate"),
        "{}",
        stdout(&after)
    );

    let listen = served.base.trim_start_matches("http://").to_owned();
    let alive = run(&["healthcheck"], &[("BRICKDESK_LISTEN", &listen)]);
    assert!(
        alive.status.success(),
        "{}",
        String::from_utf8_lossy(&alive.stderr)
    );
    let nobody = run(&["healthcheck"], &[("BRICKDESK_LISTEN", "127.0.0.1:9")]);
    assert!(!nobody.status.success());

    // The server is its own public URL and stands in for both marketplaces' clocks.
    let env = [
        ("BRICKDESK_DATA_DIR", data),
        ("BRICKDESK_PUBLIC_URL", served.base.as_str()),
        ("BRICKDESK_BRICKLINK_BASE_URL", served.base.as_str()),
        ("BRICKDESK_BRICKOWL_BASE_URL", served.base.as_str()),
    ];
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |m| std::fs::Permissions::from_mode(m);
        std::fs::set_permissions(dir.path(), mode(0o755)).unwrap();
        let open = stdout(&run(&["doctor"], &env));
        assert!(
            open.contains("WARN  data directory") && open.contains("chmod 700"),
            "{open}"
        );
        std::fs::set_permissions(dir.path(), mode(0o700)).unwrap();
    }
    let checked = run(&["doctor"], &env);
    let report = stdout(&checked);
    assert!(checked.status.success(), "{report}");
    for expected in [
        "ok    data directory",
        "ok    clock: within",
        "ok    public URL",
        "ok    live updates: events pass the proxy at once",
        "WARN  backups: none in",
        "ok    BrickOwl notify port",
    ] {
        assert!(report.contains(expected), "{expected:?} not in:\n{report}");
    }
    let unreachable = run(
        &["doctor"],
        &[
            ("BRICKDESK_DATA_DIR", data),
            ("BRICKDESK_PUBLIC_URL", "http://127.0.0.1:9"),
            ("BRICKDESK_BRICKLINK_BASE_URL", served.base.as_str()),
            ("BRICKDESK_BRICKOWL_BASE_URL", served.base.as_str()),
        ],
    );
    assert!(!unreachable.status.success());
    assert!(
        stdout(&unreachable).contains("FAIL  public URL")
            && stdout(&unreachable).contains("Fix: forward the port"),
        "{}",
        stdout(&unreachable)
    );
}
