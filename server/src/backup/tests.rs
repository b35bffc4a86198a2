//! What backups must never do: leave partial files behind, or panic on any file.

mod cleanup {
    use super::super::*;

    #[test]
    fn a_failed_backup_leaves_no_partial_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("data")).expect("store");
        let out = dir.path().join("shop.backup");
        // Asked for the key, but there is none to read: the backup fails after its body.
        std::fs::remove_file(dir.path().join("data").join(KEY_FILE)).expect("remove key");
        assert!(write(&store, &dir.path().join("data"), &out, true).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .filter(|n| n != "data")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_backup_that_cannot_fit_is_refused_before_a_byte_is_written() {
        let dir = std::path::Path::new("/srv/backups");
        let refused = room(20 * MIB, 10 * MIB, dir).expect_err("10 MiB + margin > 20 MiB");
        let said = refused.to_string();
        assert!(
            said.contains("only 20 MiB are free in /srv/backups") && said.contains("27 MiB"),
            "{said}"
        );
        assert!(room(200 * MIB, 10 * MIB, dir).is_ok());
        // The real check reads the folder's free space; there is room in a temporary folder.
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&tmp.path().join("data")).expect("store");
        assert!(check_room(store.db(), &tmp.path().join("shop.backup")).is_ok());
    }
}

mod never_panics {
    use proptest::prelude::*;

    use super::super::*;

    const HEADER: &str = r#"{"format":1,"schema":1,"created_at":"2026-11-29T00:00:00Z","trees":{"jobs":1},"with_secret_key":false,"body_bytes":12,"sha256":"00"}"#;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever a backup file holds, reading it is refused in words or succeeds; it never
        /// panics and never writes anything.
        #[test]
        fn any_file_is_refused_or_read(
            body in proptest::collection::vec(any::<u8>(), 0..1024),
            with_magic in any::<bool>(),
            with_header in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("any.backup");
            let mut bytes = Vec::new();
            if with_magic {
                bytes.extend_from_slice(MAGIC);
            }
            if with_header {
                bytes.extend_from_slice(HEADER.as_bytes());
                bytes.push(b'\n');
            }
            bytes.extend_from_slice(&body);
            std::fs::write(&path, &bytes).expect("write");
            let _ = verify(&path);
            let _ = contents(&path);
            let target = dir.path().join("restored");
            if restore(&path, &target, false).is_err() {
                prop_assert!(!target.join("db").exists(), "nothing written");
            }
        }
    }
}
