//! Every function libzmq.so exports is defined through `entry!` (so it runs
//! inside the panic boundary), and nothing in capi/src exports a function
//! any other way.
//!
//! The exported functions are the `T` symbols of `nm -D --defined-only` on
//! the built library. The functions defined through `entry!` are found in
//! the sources: capi/src is parsed, local helper macros (such as
//! `endpoint_fn!`) are expanded with the header generator's expander, and
//! the name of each `entry!` invocation is read. The stray check scans
//! every token of capi/src, outside `macro_rules! entry` itself, for
//! `no_mangle`, `export_name` and named `extern "C" fn` items. Needs nm.

mod common;
#[path = "header/expand.rs"]
#[allow(dead_code)]
mod expand;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

use common::{library, run};

fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The parsed files of capi/src, by path.
fn sources() -> Vec<(PathBuf, syn::File)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src_dir(), &mut files);
    files
        .into_iter()
        .map(|f| {
            let text =
                fs::read_to_string(&f).unwrap_or_else(|e| panic!("read {}: {e}", f.display()));
            let file =
                syn::parse_file(&text).unwrap_or_else(|e| panic!("parse {}: {e}", f.display()));
            (f, file)
        })
        .collect()
}

fn is_entry_definition(item: &syn::Item) -> bool {
    matches!(item, syn::Item::Macro(m)
        if m.mac.path.is_ident("macro_rules")
            && m.ident.as_ref().is_some_and(|i| i == "entry"))
}

/// Whether an item is compiled only for tests.
fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.meta.to_token_stream().to_string().contains("test"))
}

/// The name an `entry! { #[attr]* fn name(...) ... }` invocation defines,
/// and whether it is draft API (`#[cfg(feature = "draft")]`).
fn entry_name(tokens: &TokenStream) -> Option<(String, bool)> {
    let mut it = tokens.clone().into_iter().peekable();
    let mut draft = false;
    loop {
        match it.next()? {
            // An outer attribute: `#` and its bracketed group.
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let attr = it.next()?.to_string().replace(' ', "");
                draft |= attr == "[cfg(feature=\"draft\")]";
            }
            TokenTree::Ident(i) if i == "fn" => {
                return match it.next()? {
                    TokenTree::Ident(name) => Some((name.to_string(), draft)),
                    _ => None,
                };
            }
            _ => return None,
        }
    }
}

/// Names of the functions defined through `entry!` in `items` (and inline
/// modules), skipping test-only modules, and the draft API unless this is
/// the draft build.
fn collect_entries(items: &[syn::Item], out: &mut Vec<String>) {
    for item in items {
        match item {
            syn::Item::Macro(m) if m.mac.path.is_ident("entry") => {
                let (name, draft) = entry_name(&m.mac.tokens)
                    .unwrap_or_else(|| panic!("cannot read entry! {}", m.mac.tokens));
                // The draft API is exported only by the draft build.
                if !draft || cfg!(feature = "draft") {
                    out.push(name);
                }
            }
            syn::Item::Mod(m) if !is_cfg_test(&m.attrs) => {
                if let Some((_, inner)) = &m.content {
                    collect_entries(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// The functions capi/src defines through `entry!`.
fn entry_functions() -> BTreeSet<String> {
    let files = sources();
    // Every local macro but entry! itself, so that helper macros expand
    // to the entry! invocations they contain.
    let mut macros: HashMap<String, expand::Rules> = HashMap::new();
    for (f, file) in &files {
        for item in &file.items {
            if let syn::Item::Macro(m) = item {
                match expand::rules_of(m) {
                    Ok(Some((name, rules))) if name != "entry" => {
                        macros.insert(name, rules);
                    }
                    Ok(_) => {}
                    Err(e) => panic!("{}: {e}", f.display()),
                }
            }
        }
    }
    let mut names = Vec::new();
    for (f, file) in files {
        let items = expand::expand_items(file.items, &macros, 0)
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        collect_entries(&items, &mut names);
    }
    let set: BTreeSet<String> = names.iter().cloned().collect();
    assert_eq!(
        set.len(),
        names.len(),
        "a function defined twice: {names:?}"
    );
    set
}

/// The functions (`T` symbols) the built library exports.
fn exported_functions() -> BTreeSet<String> {
    let out = run(Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(library()));
    out.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().rev();
            let name = f.next()?;
            let kind = f.next()?;
            (kind == "T").then(|| name.to_string())
        })
        .collect()
}

#[test]
fn every_exported_function_is_an_entry() {
    let exported = exported_functions();
    let entries = entry_functions();
    // libzmq 4.3.5 exports 70 functions, 96 with the draft API.
    let least = if cfg!(feature = "draft") { 96 } else { 70 };
    assert!(
        exported.len() >= least,
        "only {} functions exported",
        exported.len()
    );
    let missing: Vec<_> = exported.difference(&entries).collect();
    let unexported: Vec<_> = entries.difference(&exported).collect();
    assert!(
        missing.is_empty() && unexported.is_empty(),
        "exported but not defined through entry!: {missing:?}\n\
         defined through entry! but not exported: {unexported:?}"
    );
}

/// What is wrong in a token stream: `no_mangle` / `export_name` anywhere,
/// or a named function with an explicit ABI (`extern "C" fn name`);
/// function pointer types (`extern "C" fn(...)`) are fine.
fn strays(tokens: TokenStream, out: &mut Vec<String>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        match t {
            TokenTree::Ident(id) if id == "no_mangle" || id == "export_name" => {
                out.push(format!("`{id}`"));
            }
            TokenTree::Ident(id) if id == "extern" => {
                let mut j = i + 1;
                if matches!(tokens.get(j), Some(TokenTree::Literal(_))) {
                    j += 1;
                }
                if let (Some(TokenTree::Ident(f)), Some(TokenTree::Ident(name))) =
                    (tokens.get(j), tokens.get(j + 1))
                {
                    if f == "fn" {
                        out.push(format!("`extern fn {name}`"));
                    }
                }
            }
            TokenTree::Group(g) => strays(g.stream(), out),
            _ => {}
        }
    }
}

#[test]
fn nothing_is_exported_outside_entry() {
    let mut found = Vec::new();
    for (f, file) in sources() {
        for item in file.items.iter().filter(|i| !is_entry_definition(i)) {
            let mut here = Vec::new();
            strays(item.to_token_stream(), &mut here);
            found.extend(here.into_iter().map(|s| format!("{}: {s}", f.display())));
        }
    }
    assert!(found.is_empty(), "exports outside entry!: {found:#?}");
    // The checker itself sees what it looks for.
    let mut probe = Vec::new();
    strays(
        quote::quote! {
            #[no_mangle] pub extern "C" fn zmq_x(f: Option<extern "C" fn(i32)>) {}
            mod m { #[export_name = "y"] extern fn y() {} }
        },
        &mut probe,
    );
    assert_eq!(probe.len(), 4, "{probe:?}");
}
