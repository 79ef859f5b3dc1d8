//! include/zmq.h is generated, committed, and must match the Rust sources.
//!
//! This test regenerates the header with the pinned cbindgen (see
//! capi/cbindgen.toml) and fails if the committed file differs. To update
//! the committed header after changing an export, a constant or a doc
//! comment:
//!
//! ```text
//! UPDATE_HEADER=1 cargo test -p zmq-capi --test header
//! ```
//!
//! Inputs: src/constants.rs (the numbers) and capi/src (types and
//! functions). Items marked `#[cfg(zmq_draft_api)]` (constants) or
//! `#[cfg(feature = "draft")]` (functions, types) land behind
//! `ZMQ_BUILD_DRAFT_API`. cbindgen does not expand macros, so capi/src is
//! first copied with its own `macro_rules!` invocations expanded (see
//! header/expand.rs). tests/abi.rs checks the result against libzmq's header.

#[path = "header/expand.rs"]
mod expand;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn capi_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn root_dir() -> PathBuf {
    capi_dir()
        .parent()
        .expect("capi/ has a parent")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Copies capi/src to `dest` with local macro invocations expanded.
fn expanded_copy(dest: &Path) {
    let src = capi_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut parsed = Vec::new();
    let mut macros: HashMap<String, expand::Rules> = HashMap::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", f.display()));
        for item in &file.items {
            if let syn::Item::Macro(m) = item {
                match expand::rules_of(m) {
                    Ok(Some((name, rules))) => {
                        assert!(
                            macros.insert(name.clone(), rules).is_none(),
                            "two macros named {name} in capi/src"
                        );
                    }
                    Ok(None) => {}
                    Err(e) => panic!("{}: {e}", f.display()),
                }
            }
        }
        parsed.push((f, file));
    }
    for (f, mut file) in parsed {
        file.items = expand::expand_items(std::mem::take(&mut file.items), &macros, 0)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let out = dest.join(f.strip_prefix(&src).expect("file under capi/src"));
        fs::create_dir_all(out.parent().expect("parent")).expect("create temporary directory");
        let text = quote::ToTokens::into_token_stream(file).to_string();
        fs::write(&out, text).unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    }
}

/// The header as cbindgen generates it from the current sources.
fn generate() -> String {
    let tmp =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("zmq-h-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    expanded_copy(&tmp);
    let config = cbindgen::Config::from_file(capi_dir().join("cbindgen.toml"))
        .expect("read capi/cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root_dir().join("src/constants.rs"))
        .with_src(tmp.join("lib.rs"))
        .generate()
        .expect("cbindgen failed");
    let mut out = Vec::new();
    bindings.write(&mut out);
    let _ = fs::remove_dir_all(&tmp);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}

#[test]
fn zmq_h_is_up_to_date() {
    let generated = generate();
    let path = root_dir().join("include/zmq.h");
    if std::env::var_os("UPDATE_HEADER").is_some_and(|v| v == "1") {
        fs::create_dir_all(path.parent().expect("include/")).expect("create include/");
        fs::write(&path, &generated).expect("write include/zmq.h");
        eprintln!("rewrote {}", path.display());
        return;
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    let old: Vec<&str> = committed.lines().collect();
    let new: Vec<&str> = generated.lines().collect();
    let first = (0..old.len().max(new.len()))
        .find(|&i| old.get(i) != new.get(i))
        .unwrap_or(0);
    panic!(
        "include/zmq.h is stale: it differs from what cbindgen generates from the sources.\n\
         first difference at line {}:\n  committed: {:?}\n  generated: {:?}\n\
         ({} lines committed, {} generated)\n\
         Regenerate it with: UPDATE_HEADER=1 cargo test -p zmq-capi --test header",
        first + 1,
        old.get(first).copied().unwrap_or("<end of file>"),
        new.get(first).copied().unwrap_or("<end of file>"),
        old.len(),
        new.len()
    );
}
