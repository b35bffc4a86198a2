//! Backups against a running server: taken during an import through the control channel,
//! restored into a fresh directory with the same data, and resumed there to exactly the
//! simulator's orders; damaged backups refused before anything is written; a data directory
//! that is not empty refused.

use app::{Marketplace, OrderList};
use reqwest::StatusCode;
use server::{backup, control, sim::SimConfig};
use tests::TestApp;

fn world() -> SimConfig {
    SimConfig {
        bricklink_orders: 300,
        brickowl_orders: 0,
        ..SimConfig::default()
    }
}

async fn order_count(api: &tests::ApiClient) -> usize {
    let list: OrderList = api.get("/api/orders?per_page=1").await.json();
    list.total
}

/// Takes a backup of `app` through the control channel, as `brickdesk backup` does.
async fn backup_of(app: &TestApp, out: &std::path::Path, with_key: bool) {
    let control = control::read(app.data_dir.path()).expect("control.json");
    let answer = reqwest::Client::new()
        .post(format!("{}{}", control.url, app::routes::ADMIN_BACKUP))
        .header(control::HEADER, &control.token)
        .json(&serde_json::json!({"with_secret_key": with_key}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    std::fs::write(out, answer.bytes().await.unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_an_import_restores_and_resumes_to_every_order() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.api.create_list("Rebuilds").await;
    let saved = app
        .api
        .put_connection(
            Marketplace::BrickLink,
            &app.keys_body(0, Marketplace::BrickLink),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::ACCEPTED);
    app.until(60, "the import is under way", || async {
        let n = order_count(&app.api).await;
        (n >= 20).then_some(n)
    })
    .await;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("shop.backup");
    backup_of(&app, &file, true).await;
    let anonymous = reqwest::Client::new()
        .post(app.api.url(app::routes::ADMIN_BACKUP))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        StatusCode::UNAUTHORIZED,
        "no token, no backup"
    );

    let header = backup::verify(&file).unwrap();
    assert!(header.with_secret_key);
    for tree in ["jobs", "orders", "users", "minifig_lists", "connections"] {
        assert!(
            header.trees.contains_key(tree),
            "{tree} in {:?}",
            header.trees
        );
    }
    let backed_up = header.trees["orders"] as usize;
    assert!(backed_up < 300, "taken mid-import: {backed_up} orders");
    app.stop().await;

    // Restored, the store holds exactly what the backup holds.
    let restored = tempfile::tempdir().unwrap();
    backup::restore(&file, restored.path(), false).unwrap();
    let again = files.path().join("again.backup");
    {
        let store = open_when_free(restored.path()).await;
        backup::write(&store, restored.path(), &again, true).unwrap();
    }
    // Besides the data, a restored store records the id floor it must hand out ids above.
    let mut again = backup::contents(&again).unwrap();
    let meta = again.get_mut("meta").unwrap();
    let floors = meta.len();
    meta.retain(|(key, _)| key.as_slice() != b"id_floor");
    assert_eq!(floors - meta.len(), 1, "the restore wrote an id floor");
    assert_eq!(
        again,
        backup::contents(&file).unwrap(),
        "restore then backup gives the same trees and entries"
    );

    // Started on the restored directory, the import picks up where the backup left it.
    let app = TestApp::spawn_full(restored, &world(), |_| {}).await;
    app.api.login("admin", tests::PASSWORD).await;
    let lists: Vec<app::ListSummary> = app.api.get(app::routes::MINIFIG_LISTS).await.json();
    assert_eq!(lists.len(), 1);
    app.until(120, "every order of the simulator, none twice", || async {
        (order_count(&app.api).await == 300).then_some(())
    })
    .await;
    app.settle().await;
    assert_eq!(order_count(&app.api).await, 300);
}

/// Opens the store once no handle of this process holds it any more: sled may close a store a
/// moment after its last handle is dropped (its flusher thread lets go of the file last).
async fn open_when_free(dir: &std::path::Path) -> server::store::Store {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match server::store::Store::open(dir) {
            Ok(store) => return store,
            Err(server::store::StoreError::InUse(_)) if tokio::time::Instant::now() < deadline => {
                tokio::task::yield_now().await;
            }
            Err(err) => panic!("{err}"),
        }
    }
}

#[tokio::test]
async fn damaged_backups_are_refused_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("shop.backup");
    backup_of(&app, &file, false).await;
    let bytes = std::fs::read(&file).unwrap();

    let truncated = files.path().join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    let flipped = files.path().join("flipped.backup");
    let mut changed = bytes;
    let last = changed.len() - 1;
    changed[last] ^= 0x55;
    std::fs::write(&flipped, &changed).unwrap();
    let stranger = files.path().join("notes.txt");
    std::fs::write(&stranger, "hello").unwrap();

    for (path, says) in [
        (&truncated, "damaged or incomplete"),
        (&flipped, "checksum does not match"),
        (&stranger, "not a brickdesk backup"),
    ] {
        let target = files
            .path()
            .join(format!("restore-{}", path.display().to_string().len()));
        let err = backup::restore(path, &target, false).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
        assert!(!target.exists(), "nothing written for {}", path.display());
    }

    // A data directory with anything in it is refused unless forced.
    let busy = tempfile::tempdir().unwrap();
    std::fs::write(busy.path().join("something"), "x").unwrap();
    let err = backup::restore(&file, busy.path(), false).unwrap_err();
    assert!(err.to_string().contains("is not empty"), "{err}");
    assert!(!busy.path().join("db").exists());
    backup::restore(&file, busy.path(), true).unwrap();
    assert!(busy.path().join("db").exists());
    assert!(
        !busy.path().join("secret.key").exists(),
        "a backup without the key restores without it"
    );
}

#[tokio::test]
async fn the_scheduled_backup_keeps_the_newest_few() {
    let dir = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let folder_path = folder.path().to_owned();
    let app = TestApp::spawn_in(dir, |c| {
        c.backup_cron = "0 3 * * *".into();
        c.backup_dir = folder_path.display().to_string();
        c.backup_keep = 2;
    })
    .await;
    app.setup_admin().await;
    let fresh = |body: &serde_json::Value| body["backups"]["stale"] == false;
    let ready: serde_json::Value = app.api.get("/readyz").await.json();
    assert!(
        ready["backups"]["last_at"].is_null(),
        "no backup yet: {ready}"
    );
    assert!(fresh(&ready), "a shop set up today is not behind: {ready}");
    let deps = app.state.services.clone();
    for _ in 0..3 {
        app.state
            .scheduler
            .run_now(&deps, server::scheduler::Task::Backup)
            .await
            .unwrap();
        // Backups are named by the second.
        tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    }
    let mut kept: Vec<String> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    for name in &kept {
        let header = backup::verify(&folder.path().join(name)).unwrap();
        assert!(!header.with_secret_key);
        assert_eq!(header.trees["users"], 1);
    }
    let schedules: Vec<app::Schedule> = app.api.get(app::routes::SCHEDULES).await.json();
    let entry = schedules.iter().find(|s| s.name == "backup_cron").unwrap();
    assert!(entry.enabled && entry.last_run.is_some());
    let ready: serde_json::Value = app.api.get("/readyz").await.json();
    assert!(fresh(&ready), "{ready}");
    let dashboard: app::Dashboard = app.api.get(app::routes::DASHBOARD).await.json();
    assert!(dashboard.backups.scheduled && !dashboard.backups.stale);
    assert!(dashboard.backups.last_at.is_some());
}

/// sled's id counter is not in any tree: a restored store must still hand out ids above every
/// id it holds, so a new account never takes over an old one's data and a new list never
/// replaces an old one.
#[tokio::test]
async fn a_restored_store_hands_out_ids_above_every_id_it_holds() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let mut lists = Vec::new();
    for n in 0..5 {
        lists.push(app.api.create_list(&format!("list {n}")).await);
    }
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("shop.backup");
    backup_of(&app, &file, false).await;
    let highest = lists.iter().map(|l| l.id.0).max().unwrap();

    let restored = tempfile::tempdir().unwrap();
    backup::restore(&file, restored.path(), false).unwrap();
    let app = TestApp::spawn_in(restored, |_| {}).await;
    app.api.login("admin", tests::PASSWORD).await;
    let fresh = app.api.create_list("after the restore").await;
    assert!(fresh.id.0 > highest, "{} after {highest}", fresh.id.0);
    let all: Vec<app::ListSummary> = app.api.get("/api/minifig-lists").await.json();
    assert_eq!(all.len(), 6, "no list was replaced");
    let user = app.create_user("bea", "bea@example.com").await;
    assert!(user.id.0 > highest, "a new account takes a new id");
}

/// A restore never writes under a running server, not even forced; a forced restore keeps the
/// directory's own secret key when the backup has none; `backup` and `user` refuse a data
/// directory that holds no store instead of creating an empty one.
#[tokio::test]
async fn restore_refuses_a_live_directory_and_commands_refuse_a_missing_store() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("shop.backup");
    backup_of(&app, &file, false).await;

    let key = std::fs::read(app.data_dir.path().join("secret.key")).unwrap();
    let err = backup::restore(&file, app.data_dir.path(), true).unwrap_err();
    assert!(
        err.to_string().contains("in use by a running brickdesk"),
        "{err}"
    );
    assert!(!app.data_dir.path().join("db.restoring").exists());

    let dir = app.stop().await;
    backup::restore(&file, dir.path(), true).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("secret.key")).unwrap(),
        key,
        "the directory's own key is kept"
    );
    assert!(!dir.path().join("db.restoring").exists());
    assert!(!dir.path().join("db.replaced").exists());

    let missing = files.path().join("typo");
    let err = server::store::Store::open_existing(&missing).err().unwrap();
    assert!(err.to_string().contains("no brickdesk data"), "{err}");
    assert!(!missing.exists(), "nothing created");
}
