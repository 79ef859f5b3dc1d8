//! A small `macro_rules!` expander for the header generator.
//!
//! cbindgen reads source files without expanding macros, so an exported
//! function written by a local `macro_rules!` (such as `endpoint_fn!` in
//! capi/src/socket.rs) would be missing from zmq.h. Before cbindgen runs, the
//! generator copies capi/src and replaces every item-level invocation of a
//! macro defined there with its expansion. Supported: matchers with literal
//! tokens, groups, `$name:fragment` (ident, meta, ty, expr, path, tt,
//! literal, lifetime, vis, item, block, pat, pat_param, stmt) and
//! `$( ... ) sep? *|+|?` repetitions, nested; the first arm that matches wins.
//! An invocation that matches no arm is an error, so nothing goes missing
//! silently.

use std::collections::HashMap;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};

/// One element of a matcher or transcriber.
#[derive(Clone, Debug)]
enum Piece {
    Token(TokenTree),
    Group(Delimiter, Vec<Piece>),
    /// `$name:kind` in a matcher, `$name` in a transcriber (kind empty).
    Var(String, String),
    Repeat(Vec<Piece>, Option<TokenTree>, char),
}

#[derive(Clone, Debug)]
enum Binding {
    One(TokenStream),
    Seq(Vec<Binding>),
}

type Bindings = HashMap<String, Binding>;

/// The arms of one `macro_rules!`.
pub struct Rules {
    arms: Vec<(Vec<Piece>, Vec<Piece>)>,
}

fn pieces(ts: TokenStream, matcher: bool) -> Result<Vec<Piece>, String> {
    let tokens: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Punct(p) if p.as_char() == '$' && i + 1 < tokens.len() => {
                match &tokens[i + 1] {
                    TokenTree::Ident(name) if name == "crate" => {
                        out.push(Piece::Token(TokenTree::Ident(name.clone())));
                        i += 2;
                    }
                    TokenTree::Ident(name) => {
                        let name = name.unraw().to_string();
                        if matcher {
                            let kind = match (tokens.get(i + 2), tokens.get(i + 3)) {
                                (Some(TokenTree::Punct(c)), Some(TokenTree::Ident(k)))
                                    if c.as_char() == ':' =>
                                {
                                    k.to_string()
                                }
                                _ => {
                                    return Err(format!(
                                        "matcher variable ${name} has no fragment kind"
                                    ))
                                }
                            };
                            out.push(Piece::Var(name, kind));
                            i += 4;
                        } else {
                            out.push(Piece::Var(name, String::new()));
                            i += 2;
                        }
                    }
                    TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                        let inner = pieces(g.stream(), matcher)?;
                        let op_of = |t: Option<&TokenTree>| match t {
                            Some(TokenTree::Punct(p)) if matches!(p.as_char(), '*' | '+' | '?') => {
                                Some(p.as_char())
                            }
                            _ => None,
                        };
                        if let Some(op) = op_of(tokens.get(i + 2)) {
                            out.push(Piece::Repeat(inner, None, op));
                            i += 3;
                        } else if let Some(op) = op_of(tokens.get(i + 3)) {
                            out.push(Piece::Repeat(inner, tokens.get(i + 2).cloned(), op));
                            i += 4;
                        } else {
                            return Err("repetition without *, + or ?".into());
                        }
                    }
                    _ => {
                        out.push(Piece::Token(tokens[i].clone()));
                        i += 1;
                    }
                }
            }
            TokenTree::Group(g) => {
                out.push(Piece::Group(g.delimiter(), pieces(g.stream(), matcher)?));
                i += 1;
            }
            t => {
                out.push(Piece::Token(t.clone()));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// The name and rules of a `macro_rules!` item, `None` for other macros.
pub fn rules_of(item: &syn::ItemMacro) -> Result<Option<(String, Rules)>, String> {
    if !item.mac.path.is_ident("macro_rules") {
        return Ok(None);
    }
    let Some(name) = &item.ident else {
        return Ok(None);
    };
    let tokens: Vec<TokenTree> = item.mac.tokens.clone().into_iter().collect();
    let mut arms = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match (
            &tokens[i],
            tokens.get(i + 1),
            tokens.get(i + 2),
            tokens.get(i + 3),
        ) {
            (
                TokenTree::Group(m),
                Some(TokenTree::Punct(eq)),
                Some(TokenTree::Punct(gt)),
                Some(TokenTree::Group(t)),
            ) if eq.as_char() == '=' && gt.as_char() == '>' => {
                arms.push((pieces(m.stream(), true)?, pieces(t.stream(), false)?));
                i += 4;
                if matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ';') {
                    i += 1;
                }
            }
            _ => {
                return Err(format!(
                    "macro_rules! {name}: unexpected token {}",
                    tokens[i]
                ))
            }
        }
    }
    Ok(Some((name.to_string(), Rules { arms })))
}

fn fragment(kind: &str, input: ParseStream) -> syn::Result<TokenStream> {
    Ok(match kind {
        "ident" => input.call(syn::Ident::parse_any)?.into_token_stream(),
        "meta" => input.parse::<syn::Meta>()?.into_token_stream(),
        "ty" => input.parse::<syn::Type>()?.into_token_stream(),
        "expr" => input.parse::<syn::Expr>()?.into_token_stream(),
        "path" => input.parse::<syn::Path>()?.into_token_stream(),
        "tt" => input.parse::<TokenTree>()?.into_token_stream(),
        "literal" => input.parse::<syn::Lit>()?.into_token_stream(),
        "lifetime" => input.parse::<syn::Lifetime>()?.into_token_stream(),
        "vis" => input.parse::<syn::Visibility>()?.into_token_stream(),
        "item" => input.parse::<syn::Item>()?.into_token_stream(),
        "block" => input.parse::<syn::Block>()?.into_token_stream(),
        "pat" | "pat_param" => syn::Pat::parse_single(input)?.into_token_stream(),
        "stmt" => input.parse::<syn::Stmt>()?.into_token_stream(),
        other => return Err(input.error(format!("unsupported fragment kind {other}"))),
    })
}

fn same_token(a: &TokenTree, b: &TokenTree) -> bool {
    match (a, b) {
        (TokenTree::Ident(x), TokenTree::Ident(y)) => x == y,
        (TokenTree::Punct(x), TokenTree::Punct(y)) => x.as_char() == y.as_char(),
        (TokenTree::Literal(x), TokenTree::Literal(y)) => x.to_string() == y.to_string(),
        _ => false,
    }
}

fn var_names(ps: &[Piece], out: &mut Vec<String>) {
    for p in ps {
        match p {
            Piece::Var(n, _) => out.push(n.clone()),
            Piece::Group(_, inner) | Piece::Repeat(inner, _, _) => var_names(inner, out),
            Piece::Token(_) => {}
        }
    }
}

fn match_pieces(ps: &[Piece], input: ParseStream, b: &mut Bindings) -> syn::Result<()> {
    for p in ps {
        match p {
            Piece::Token(t) => {
                let got: TokenTree = input.parse()?;
                if !same_token(t, &got) {
                    return Err(syn::Error::new(got.span(), format!("expected `{t}`")));
                }
            }
            Piece::Group(d, inner) => {
                let got: TokenTree = input.parse()?;
                let TokenTree::Group(g) = &got else {
                    return Err(syn::Error::new(got.span(), "expected a group"));
                };
                if g.delimiter() != *d {
                    return Err(syn::Error::new(got.span(), "wrong delimiter"));
                }
                let inner_b = (|s: ParseStream| {
                    let mut nb = Bindings::new();
                    match_pieces(inner, s, &mut nb)?;
                    Ok(nb)
                })
                .parse2(g.stream())?;
                b.extend(inner_b);
            }
            Piece::Var(name, kind) => {
                b.insert(name.clone(), Binding::One(fragment(kind, input)?));
            }
            Piece::Repeat(inner, sep, op) => {
                let mut iters: Vec<Bindings> = Vec::new();
                loop {
                    if *op == '?' && iters.len() == 1 {
                        break;
                    }
                    let fork = input.fork();
                    if !iters.is_empty() {
                        if let Some(sep) = sep {
                            match fork.parse::<TokenTree>() {
                                Ok(t) if same_token(sep, &t) => {}
                                _ => break,
                            }
                        }
                    }
                    let mut nb = Bindings::new();
                    if fork.is_empty() || match_pieces(inner, &fork, &mut nb).is_err() {
                        break;
                    }
                    input.advance_to(&fork);
                    iters.push(nb);
                }
                if *op == '+' && iters.is_empty() {
                    return Err(input.error("expected at least one repetition"));
                }
                let mut names = Vec::new();
                var_names(inner, &mut names);
                for n in names {
                    let seq = iters
                        .iter()
                        .map(|it| it.get(&n).cloned().unwrap_or(Binding::Seq(Vec::new())))
                        .collect();
                    b.insert(n, Binding::Seq(seq));
                }
            }
        }
    }
    Ok(())
}

fn transcribe(ps: &[Piece], b: &Bindings, out: &mut TokenStream) -> Result<(), String> {
    for p in ps {
        match p {
            Piece::Token(t) => out.extend([t.clone()]),
            Piece::Group(d, inner) => {
                let mut ts = TokenStream::new();
                transcribe(inner, b, &mut ts)?;
                out.extend([TokenTree::Group(Group::new(*d, ts))]);
            }
            Piece::Var(name, _) => match b.get(name) {
                Some(Binding::One(ts)) => out.extend(ts.clone()),
                Some(Binding::Seq(_)) => return Err(format!("${name} is still repeating here")),
                None => return Err(format!("${name} is not bound")),
            },
            Piece::Repeat(inner, sep, _) => {
                let mut names = Vec::new();
                var_names(inner, &mut names);
                let seqs: Vec<(&String, &Vec<Binding>)> = names
                    .iter()
                    .filter_map(|n| match b.get(n) {
                        Some(Binding::Seq(v)) => Some((n, v)),
                        _ => None,
                    })
                    .collect();
                let Some(count) = seqs.first().map(|(_, v)| v.len()) else {
                    return Err("repetition without a repeating variable".into());
                };
                if seqs.iter().any(|(_, v)| v.len() != count) {
                    return Err("repeating variables of different lengths".into());
                }
                for i in 0..count {
                    if i > 0 {
                        out.extend(sep.clone());
                    }
                    let mut nb = b.clone();
                    for (n, v) in &seqs {
                        nb.insert((*n).clone(), v[i].clone());
                    }
                    transcribe(inner, &nb, out)?;
                }
            }
        }
    }
    Ok(())
}

impl Rules {
    /// The expansion of one invocation: the transcriber of the first arm
    /// whose matcher matches all of `input`.
    pub fn expand(&self, input: TokenStream) -> Result<TokenStream, String> {
        for (matcher, transcriber) in &self.arms {
            let matched = (|s: ParseStream| {
                let mut b = Bindings::new();
                match_pieces(matcher, s, &mut b)?;
                Ok(b)
            })
            .parse2(input.clone());
            if let Ok(b) = matched {
                let mut out = TokenStream::new();
                transcribe(transcriber, &b, &mut out)?;
                return Ok(out);
            }
        }
        Err(format!("no arm matches `{input}`"))
    }
}

/// Replaces, in `items` and their inline modules, every invocation of a
/// macro in `macros` with the items it expands to (repeatedly, for macros
/// that invoke macros). Outer attributes of an invocation (a `#[cfg]`, say)
/// are kept by wrapping its items in an inline module that carries them.
pub fn expand_items(
    items: Vec<syn::Item>,
    macros: &HashMap<String, Rules>,
    depth: usize,
) -> Result<Vec<syn::Item>, String> {
    if depth > 32 {
        return Err("macro recursion too deep".into());
    }
    let mut out = Vec::new();
    for item in items {
        match item {
            syn::Item::Macro(m)
                if m.ident.is_none()
                    && m.mac
                        .path
                        .get_ident()
                        .is_some_and(|i| macros.contains_key(&i.to_string())) =>
            {
                let name = m
                    .mac
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let tokens = macros[&name]
                    .expand(m.mac.tokens.clone())
                    .map_err(|e| format!("{name}!: {e}"))?;
                let file: syn::File = syn::parse2(tokens)
                    .map_err(|e| format!("{name}!: expansion is not items: {e}"))?;
                let expanded = expand_items(file.items, macros, depth + 1)?;
                if m.attrs.is_empty() {
                    out.extend(expanded);
                } else {
                    let attrs = &m.attrs;
                    let wrapper: syn::ItemMod = syn::parse_quote! {
                        #(#attrs)*
                        mod __expanded { #(#expanded)* }
                    };
                    out.push(syn::Item::Mod(wrapper));
                }
            }
            syn::Item::Mod(mut m) => {
                if let Some((brace, inner)) = m.content.take() {
                    m.content = Some((brace, expand_items(inner, macros, depth)?));
                }
                out.push(syn::Item::Mod(m));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}
