//! Backups: every tree of the store in one file, with a header (format, schema, time, entries
//! per tree, body length, SHA-256 of the body), written while the server runs.
//!
//! Consistency: sled has no snapshot across trees, so the order of the trees is what makes a
//! backup restorable. The job queue is written first, everything else after it. A job that
//! finished while the other trees were read is in the backup as still waiting or running;
//! restored, it runs again, and since every job is idempotent (orders are upserts keyed by
//! marketplace order id) it reaches the same state. Whatever a job stored before the queue was
//! read is in the later trees. So a restored backup holds every acknowledged change up to the
//! moment the queue was read, and the jobs to redo what came after.
//!
//! The marketplace keys are sealed with `secret.key`; it goes into a backup only when asked
//! (`--with-secret-key`), since the file then opens the keys. Restored without it, the
//! connections ask for their keys again.
//!
//! File: `BRICKDESK-BACKUP\n`, one line of header JSON, then the body: records of a tag byte
//! (1 tree, 2 entry, 3 secret key) and length-prefixed (u32, big-endian) byte strings.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::store::{SCHEMA_VERSION, Store};

mod restore;
#[cfg(test)]
mod tests;

pub use restore::restore;

const MAGIC: &[u8] = b"BRICKDESK-BACKUP\n";
/// The file format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The queue's tree: written first (see the module docs).
const FIRST: &str = "jobs";
const KEY_FILE: &str = "secret.key";
const TREE: u8 = 1;
const ENTRY: u8 = 2;
const SECRET: u8 = 3;

/// What a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    pub schema: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Entries per tree.
    pub trees: BTreeMap<String, u64>,
    pub with_secret_key: bool,
    pub body_bytes: u64,
    /// Hex SHA-256 of the body.
    pub sha256: String,
    /// Every id in the backup is at most this; a restored store hands out ids above it
    /// (0 in backups written before it was carried).
    #[serde(default)]
    pub id_floor: u64,
}

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} is not a brickdesk backup")]
    NotABackup(String),
    #[error(
        "the backup is damaged or incomplete ({0}); nothing was written. Make the backup again \
         or use an older copy"
    )]
    Damaged(String),
    #[error(
        "the backup is of a newer brickdesk (format {format}, schema {schema}; this build reads \
         format {FORMAT}, schema up to {SCHEMA_VERSION}); restore it with that version or newer"
    )]
    Newer { format: u32, schema: u32 },
    #[error(
        "{0} is not empty; restore into an empty data directory, or pass --force to replace what \
         is there"
    )]
    NotEmpty(String),
    #[error(
        "{0} is in use by a running brickdesk; stop it first (a restore never writes under a \
         running server, not even with --force)"
    )]
    InUse(String),
    #[error(
        "only {} MiB are free in {dir} and a backup needs about {} MiB; free some space there or \
         point backup_dir at another disk", .free / MIB, .needed.div_ceil(MIB)
    )]
    NoRoom { dir: String, free: u64, needed: u64 },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Sled(#[from] sled::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn record(out: &mut impl Write, tag: u8, parts: &[&[u8]]) -> std::io::Result<()> {
    out.write_all(&[tag])?;
    for part in parts {
        let len = u32::try_from(part.len())
            .map_err(|_| std::io::Error::other("a value longer than 4 GiB"))?;
        out.write_all(&len.to_be_bytes())?;
        out.write_all(part)?;
    }
    Ok(())
}

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a backup of `store` (in `data_dir`) to `out`, through a temporary file beside it so
/// a failed backup never leaves a half file under the wanted name.
pub fn write(
    store: &Store,
    data_dir: &Path,
    out: &Path,
    with_secret_key: bool,
) -> Result<Header, BackupError> {
    check_room(store.db(), out)?;
    let written = write_parts(
        store.db(),
        store.ids(),
        data_dir,
        out,
        with_secret_key,
        None,
    );
    cleaned_up(out, written)
}

/// A failed backup (a full disk, say) leaves nothing half-written behind.
fn cleaned_up(out: &Path, written: Result<Header, BackupError>) -> Result<Header, BackupError> {
    if written.is_err() {
        for partial in [
            out.with_extension("body.partial"),
            out.with_extension("partial"),
        ] {
            let _ = std::fs::remove_file(partial);
        }
    }
    written
}

/// `brickdesk backup --salvage`: every tree's raw bytes, read straight from sled without
/// decoding a single record, for a store that no longer opens (a damaged record). A tree sled
/// itself cannot read any further is cut there and named in the answer. Needs the server
/// stopped.
pub fn salvage(
    data_dir: &Path,
    out: &Path,
    with_secret_key: bool,
) -> Result<(Header, Vec<String>), BackupError> {
    let dir = data_dir.join("db");
    if !dir.is_dir() {
        return Err(crate::store::StoreError::NoStore(data_dir.display().to_string()).into());
    }
    let db = sled::Config::new().path(&dir).open().map_err(|source| {
        if crate::store::is_held(&source) {
            BackupError::InUse(data_dir.display().to_string())
        } else {
            BackupError::Sled(source)
        }
    })?;
    let ids = crate::store::Ids::open(&db, &db.open_tree("meta")?)?;
    check_room(&db, out)?;
    let mut cut = Vec::new();
    let written = write_parts(&db, &ids, data_dir, out, with_secret_key, Some(&mut cut));
    Ok((cleaned_up(out, written)?, cut))
}

const MIB: u64 = 1024 * 1024;
/// Free space a backup leaves untouched beyond its own expected size.
const SPARE_BYTES: u64 = 16 * MIB;

/// Refuses a backup that cannot fit in `out`'s folder before a byte is written. Its expected
/// size is the newest rotating backup there (a store grows slowly), else the store's size on
/// disk (an upper bound: sled keeps room it has not filled).
fn check_room(db: &sled::Db, out: &Path) -> Result<(), BackupError> {
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let expected = newest_size(dir).unwrap_or_else(|| db.size_on_disk().unwrap_or(0));
    let free = fs2::available_space(dir).map_err(io(dir))?;
    room(free, expected, dir)
}

/// Whether `free` bytes in `dir` hold a backup of about `expected` bytes, with a margin.
fn room(free: u64, expected: u64, dir: &Path) -> Result<(), BackupError> {
    let needed = expected + expected / 10 + SPARE_BYTES;
    if free < needed {
        return Err(BackupError::NoRoom {
            dir: dir.display().to_string(),
            free,
            needed,
        });
    }
    Ok(())
}

fn newest_size(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| is_rotated(&e.path()))
        .filter_map(|e| e.metadata().ok())
        .max_by_key(|m| m.modified().ok())
        .map(|m| m.len())
}

/// Writes the backup of `db`. With `salvage`, a tree sled cannot read to its end is cut where
/// it failed and noted there instead of failing the backup.
fn write_parts(
    db: &sled::Db,
    ids: &crate::store::Ids,
    data_dir: &Path,
    out: &Path,
    with_secret_key: bool,
    mut salvage: Option<&mut Vec<String>>,
) -> Result<Header, BackupError> {
    let body_path = out.with_extension("body.partial");
    let mut body = Hashing {
        inner: BufWriter::new(create_private(&body_path)?),
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut names: Vec<String> = db
        .tree_names()
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    names.sort_by_key(|n| (n != FIRST, n.clone()));
    let mut trees = BTreeMap::new();
    for name in names {
        let tree = match (db.open_tree(&name), salvage.as_deref_mut()) {
            (Ok(tree), _) => tree,
            (Err(err), Some(cut)) => {
                cut.push(format!("{name}: cannot be opened ({err})"));
                continue;
            }
            (Err(err), None) => return Err(err.into()),
        };
        record(&mut body, TREE, &[name.as_bytes()]).map_err(io(&body_path))?;
        let mut count = 0u64;
        for entry in &tree {
            let (key, value) = match (entry, salvage.as_deref_mut()) {
                (Ok(entry), _) => entry,
                (Err(err), Some(cut)) => {
                    cut.push(format!("{name}: cut after {count} entries ({err})"));
                    break;
                }
                (Err(err), None) => return Err(err.into()),
            };
            record(&mut body, ENTRY, &[&key, &value]).map_err(io(&body_path))?;
            count += 1;
        }
        trees.insert(name, count);
    }
    if with_secret_key {
        let path = data_dir.join(KEY_FILE);
        let key = std::fs::read(&path).map_err(io(&path))?;
        record(&mut body, SECRET, &[&key]).map_err(io(&body_path))?;
    }
    body.flush().map_err(io(&body_path))?;
    let Hashing { inner, hash, bytes } = body;
    drop(inner);
    // Taken after every tree was read: each id in the backup was handed out before it.
    let id_floor = ids.next()?;
    let header = Header {
        format: FORMAT,
        schema: SCHEMA_VERSION,
        created_at: OffsetDateTime::now_utc(),
        trees,
        with_secret_key,
        body_bytes: bytes,
        sha256: hex(&hash.finalize()),
        id_floor,
    };
    let partial = out.with_extension("partial");
    let mut file = BufWriter::new(create_private(&partial)?);
    file.write_all(MAGIC).map_err(io(&partial))?;
    serde_json::to_writer(&mut file, &header).map_err(|e| io(&partial)(e.into()))?;
    file.write_all(b"\n").map_err(io(&partial))?;
    std::io::copy(
        &mut File::open(&body_path).map_err(io(&body_path))?,
        &mut file,
    )
    .map_err(io(&partial))?;
    file.into_inner()
        .map_err(|e| io(&partial)(e.into_error()))?
        .sync_all()
        .map_err(io(&partial))?;
    std::fs::remove_file(&body_path).map_err(io(&body_path))?;
    std::fs::rename(&partial, out).map_err(io(out))?;
    Ok(header)
}

/// A new file only its owner reads (a backup holds every order and, maybe, the key).
fn create_private(path: &Path) -> Result<File, BackupError> {
    crate::control::create_private(path).map_err(io(path))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and checks the header.
pub fn header(path: &Path) -> Result<(Header, BufReader<File>), BackupError> {
    let mut reader = BufReader::new(File::open(path).map_err(io(path))?);
    let mut magic = vec![0u8; MAGIC.len()];
    if reader.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(BackupError::NotABackup(path.display().to_string()));
    }
    let mut line = Vec::new();
    (&mut reader)
        .take(1 << 20)
        .read_until(b'\n', &mut line)
        .map_err(io(path))?;
    let header: Header = serde_json::from_slice(&line)
        .map_err(|e| BackupError::Damaged(format!("its header cannot be read: {e}")))?;
    if header.format > FORMAT || header.schema > SCHEMA_VERSION {
        return Err(BackupError::Newer {
            format: header.format,
            schema: header.schema,
        });
    }
    Ok((header, reader))
}

/// One body record.
enum Record {
    Tree(Vec<u8>),
    Entry(Vec<u8>, Vec<u8>),
    Secret(Vec<u8>),
}

fn part(reader: &mut impl Read) -> Result<Vec<u8>, BackupError> {
    let mut len = [0u8; 4];
    reader
        .read_exact(&mut len)
        .map_err(|_| BackupError::Damaged("it ends inside a record".into()))?;
    let len = u32::from_be_bytes(len) as usize;
    let mut bytes = Vec::new();
    reader
        .take(len as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| BackupError::Damaged(e.to_string()))?;
    if bytes.len() != len {
        return Err(BackupError::Damaged("it ends inside a record".into()));
    }
    Ok(bytes)
}

fn next(reader: &mut impl Read) -> Result<Option<Record>, BackupError> {
    let mut tag = [0u8; 1];
    match reader.read(&mut tag) {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(BackupError::Damaged(e.to_string())),
    }
    Ok(Some(match tag[0] {
        TREE => Record::Tree(part(reader)?),
        ENTRY => Record::Entry(part(reader)?, part(reader)?),
        SECRET => Record::Secret(part(reader)?),
        other => return Err(BackupError::Damaged(format!("unknown record {other}"))),
    }))
}

/// A reader that hashes and counts what passes through.
struct HashingReader<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Checks the whole body against the header (length, checksum, every record whole, the
/// entries per tree) in one pass, without writing anything.
pub fn verify(path: &Path) -> Result<Header, BackupError> {
    let (header, reader) = header(path)?;
    let mut reader = HashingReader {
        inner: reader,
        hash: Sha256::new(),
        bytes: 0,
    };
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut current = None::<String>;
    // A cut-off file shows as a record cut short: say so by length first, it is clearer.
    let structure: Result<(), BackupError> = (|| {
        while let Some(record) = next(&mut reader)? {
            match record {
                Record::Tree(name) => {
                    let name = String::from_utf8_lossy(&name).into_owned();
                    counts.insert(name.clone(), 0);
                    current = Some(name);
                }
                Record::Entry(..) => {
                    let tree = current
                        .as_ref()
                        .ok_or_else(|| BackupError::Damaged("an entry outside a tree".into()))?;
                    *counts.entry(tree.clone()).or_default() += 1;
                }
                Record::Secret(_) => {}
            }
        }
        Ok(())
    })();
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(io(path))?;
    if reader.bytes != header.body_bytes {
        return Err(BackupError::Damaged(format!(
            "{} of {} bytes",
            reader.bytes, header.body_bytes
        )));
    }
    if hex(&reader.hash.finalize()) != header.sha256 {
        return Err(BackupError::Damaged("the checksum does not match".into()));
    }
    structure?;
    if counts != header.trees {
        return Err(BackupError::Damaged(
            "the entries do not match the header".into(),
        ));
    }
    Ok(header)
}

/// Every tree and entry of a backup, in file order (for comparing two backups).
pub fn contents(path: &Path) -> Result<Contents, BackupError> {
    verify(path)?;
    let (_, mut reader) = header(path)?;
    let mut trees = Contents::new();
    let mut current = String::new();
    while let Some(record) = next(&mut reader)? {
        match record {
            Record::Tree(name) => {
                current = String::from_utf8_lossy(&name).into_owned();
                trees.entry(current.clone()).or_default();
            }
            Record::Entry(key, value) => {
                trees.entry(current.clone()).or_default().push((key, value));
            }
            Record::Secret(_) => {}
        }
    }
    Ok(trees)
}

/// Trees by name, each its entries in key order.
pub type Contents = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

/// When the newest rotating backup in `dir` was written (backups are renamed into place only
/// when whole, so each one there is complete); `None` when there is none.
pub fn newest(dir: &Path) -> Option<OffsetDateTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| is_rotated(&e.path()))
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
        .map(OffsetDateTime::from)
}

fn is_rotated(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("brickdesk-") && n.ends_with(".backup"))
}

/// `dir/brickdesk-YYYYMMDD-HHMMSS.backup`, and the older ones beyond `keep` deleted.
pub fn rotate(
    store: &Store,
    data_dir: &Path,
    dir: &Path,
    keep: usize,
) -> Result<PathBuf, BackupError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let now = OffsetDateTime::now_utc();
    let name = format!(
        "brickdesk-{:04}{:02}{:02}-{:02}{:02}{:02}.backup",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let path = dir.join(name);
    write(store, data_dir, &path, false)?;
    let mut old: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_rotated(p))
        .collect();
    old.sort();
    let excess = old.len().saturating_sub(keep.max(1));
    for path in old.into_iter().take(excess) {
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    Ok(path)
}
