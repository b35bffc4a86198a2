//! Embeds the web UI that `scripts/ui.sh` built into `dist/` (each file brotli-compressed,
//! listed in `OUT_DIR/ui_assets.rs` for `http::assets`), and derives the CSP hashes of its
//! inline scripts so the Content-Security-Policy allows exactly its loader and nothing else.
//! Without a `dist/` (a plain `cargo build` before `make build`) a one-page notice is embedded
//! instead, telling how to build the UI. Also records what `brickdesk --version` says: the
//! commit (from git, when the source is a clone), the build date (`SOURCE_DATE_EPOCH` when set,
//! for reproducible builds) and the target.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha2::{Digest, Sha256};

const MISSING_UI: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>brickdesk</title></head>
<body><h1>brickdesk</h1>
<p>This binary was built without its web UI. Build it with <code>make build</code>, which builds
the UI first and then embeds the result.</p></body></html>
"#;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = manifest_dir.join("../dist");
    let index = dist.join("index.html");
    println!("cargo::rerun-if-changed={}", index.display());

    let dir = if index.is_file() {
        dist
    } else {
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("no-ui");
        std::fs::create_dir_all(&out).expect("create OUT_DIR/no-ui");
        std::fs::write(out.join("index.html"), MISSING_UI).expect("write notice page");
        out
    };

    let html = std::fs::read_to_string(dir.join("index.html")).expect("read index.html");
    println!(
        "cargo::rustc-env=BRICKDESK_UI_SCRIPT_HASHES={}",
        inline_script_hashes(&html)
    );
    println!(
        "cargo::rustc-env=BRICKDESK_UI_BUILT={}",
        dir.ends_with("dist")
    );
    embed_ui(&dir);
    version_facts(&manifest_dir);
}

/// `BRICKDESK_COMMIT`, `BRICKDESK_BUILT` and `BRICKDESK_TARGET` for `--version`.
fn version_facts(manifest_dir: &Path) {
    let git = manifest_dir.join("../.git");
    for watched in ["HEAD", "refs/heads", "packed-refs"] {
        let path = git.join(watched);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let said = |program: &str, args: &[&str]| {
        std::process::Command::new(program)
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    let commit =
        said("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let built = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) => said("date", &["-u", "-d", &format!("@{epoch}"), "+%F"]),
        Err(_) => said("date", &["-u", "+%F"]),
    }
    .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo::rustc-env=BRICKDESK_COMMIT={commit}");
    println!("cargo::rustc-env=BRICKDESK_BUILT={built}");
    println!("cargo::rustc-env=BRICKDESK_TARGET={target}");
}

/// Brotli-compresses every file of `dir` into `OUT_DIR/ui/` and writes `OUT_DIR/ui_assets.rs`,
/// the table `http::assets` serves from (path, content type, ETag, the compressed bytes).
fn embed_ui(dir: &Path) {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let ui_dir = out_dir.join("ui");
    let _ = std::fs::remove_dir_all(&ui_dir);
    std::fs::create_dir_all(&ui_dir).expect("create OUT_DIR/ui");
    // Quality 11 takes seconds on the wasm: only release builds are worth it.
    let quality = if std::env::var("PROFILE").as_deref() == Ok("release") {
        11
    } else {
        5
    };
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for (number, relative) in files.iter().enumerate() {
        let path = dir.join(relative);
        println!("cargo::rerun-if-changed={}", path.display());
        let content = std::fs::read(&path).expect("read a UI file");
        let mut compressed = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality,
            lgwin: 22,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut content.as_slice(), &mut compressed, &params)
            .expect("compress a UI file");
        let stored = ui_dir.join(format!("{number}.br"));
        std::fs::write(&stored, &compressed).expect("write a compressed UI file");
        let digest = Sha256::digest(&content);
        let etag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        table.push_str(&format!(
            "    Asset {{ path: {:?}, content_type: {:?}, etag: \"\\\"{etag}\\\"\", brotli: include_bytes!({:?}) }},\n",
            format!("/{}", relative.replace('\\', "/")),
            content_type(relative),
            stored.display().to_string(),
        ));
    }
    table.push(']');
    std::fs::write(out_dir.join("ui_assets.rs"), table).expect("write ui_assets.rs");
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("list the UI folder") {
        let path = entry.expect("a UI folder entry").path();
        if path.is_dir() {
            collect_files(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_string_lossy().into_owned());
        }
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `'sha256-…'` for every inline `<script>` body in the page, space separated.
fn inline_script_hashes(html: &str) -> String {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(open_end) = rest.find('>') else {
            break;
        };
        let tag = &rest[..open_end];
        let body_and_more = &rest[open_end + 1..];
        let Some(close) = body_and_more.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = Sha256::digest(&body_and_more.as_bytes()[..close]);
            let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
            hashes.push(format!("'sha256-{encoded}'"));
        }
        rest = &body_and_more[close..];
    }
    hashes.join(" ")
}
