//! Parsing of `#[shm(...)]` and `#[repr(...)]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, LitInt, LitStr, Path};

use crate::errors::Errors;

/// What `#[shm(...)]` says.
#[derive(Default)]
pub(crate) struct ShmAttrs {
    /// `name = "..."`: the schema name.
    pub(crate) name: Option<LitStr>,
    /// `crate = "..."`: path of the runtime crate.
    pub(crate) krate: Option<Path>,
}

pub(crate) fn parse_shm(attrs: &[Attribute], errors: &mut Errors) -> ShmAttrs {
    let mut out = ShmAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("shm")) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if out.name.is_some() {
                    errors.push(syn::Error::new_spanned(&meta.path, "duplicate `name` in #[shm(...)]"));
                }
                out.name = Some(lit);
                Ok(())
            } else if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                match lit.parse::<Path>() {
                    Ok(p) => out.krate = Some(p),
                    Err(_) => errors.push(syn::Error::new_spanned(
                        &lit,
                        "`crate` must be a path, such as \"::shm\" or \"my_renamed_shm\"",
                    )),
                }
                Ok(())
            } else {
                Err(meta.error(
                    "unknown #[shm(...)] key; supported keys are `name = \"...\"` and `crate = \"...\"`",
                ))
            }
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    out
}

/// `#[shm]` is only meaningful on the struct.
pub(crate) fn reject_shm(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("shm")) {
        errors.push(syn::Error::new_spanned(
            attr,
            "#[shm(...)] goes on the struct, not on its fields",
        ));
    }
}

/// What `#[repr(...)]` says, parsed (not grepped).
#[derive(Default)]
pub(crate) struct Repr {
    /// The first `#[repr]` attribute, for error spans.
    pub(crate) attr_span: Option<Span>,
    pub(crate) c: Option<Span>,
    pub(crate) transparent: Option<Span>,
    pub(crate) packed: Option<(Span, Option<LitInt>)>,
    pub(crate) align: Option<(Span, LitInt)>,
    /// Representations that do not fit a message (`Rust`, `u8`, `simd`, ...).
    pub(crate) other: Vec<(Span, String)>,
}

pub(crate) fn parse_repr(attrs: &[Attribute], errors: &mut Errors) -> Repr {
    let mut repr = Repr::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("repr")) {
        repr.attr_span.get_or_insert(attr.span());
        let r = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            let ident = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match ident.as_str() {
                "C" => set_once(&mut repr.c, span, "C", errors),
                "transparent" => set_once(&mut repr.transparent, span, "transparent", errors),
                "packed" => {
                    let n = if meta.input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in meta.input);
                        Some(content.parse::<LitInt>()?)
                    } else {
                        None
                    };
                    if repr.packed.is_some() {
                        errors.push(duplicate_hint(span, "packed"));
                    }
                    repr.packed = Some((span, n));
                }
                "align" => {
                    let content;
                    syn::parenthesized!(content in meta.input);
                    if repr.align.is_some() {
                        errors.push(duplicate_hint(span, "align"));
                    }
                    repr.align = Some((span, content.parse::<LitInt>()?));
                }
                other => {
                    // Skip any arguments so parsing can go on.
                    if meta.input.peek(syn::token::Paren) {
                        let _content;
                        syn::parenthesized!(_content in meta.input);
                    }
                    repr.other.push((span, other.to_owned()));
                }
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
        }
    }
    repr
}

fn duplicate_hint(span: Span, hint: &str) -> syn::Error {
    syn::Error::new(
        span,
        format!("`{hint}` is given more than once in `#[repr]`; give it once"),
    )
}

fn set_once(slot: &mut Option<Span>, span: Span, hint: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(duplicate_hint(span, hint));
    }
    *slot = Some(span);
}
