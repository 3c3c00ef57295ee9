//! Checks that need only the syntax. Every problem is reported, each at its token.

use syn::{LitStr, Path};

use crate::ast::{FieldInput, Input, Shape};
use crate::errors::Errors;

/// A struct that passed the syntactic checks.
pub(crate) struct Valid<'a> {
    pub(crate) input: &'a Input<'a>,
    pub(crate) fields: &'a [FieldInput<'a>],
    /// The schema name.
    pub(crate) name: LitStr,
    /// Path of the runtime crate.
    pub(crate) krate: Path,
}

/// Longest schema name (file-name sized, so tools can show it).
const MAX_NAME: usize = 255;

impl<'a> Input<'a> {
    pub(crate) fn validate(&'a self) -> Result<Valid<'a>, Errors> {
        let mut errors = Errors::default();
        let ident = self.ident;

        let fields = match &self.shape {
            Shape::Struct(fields) => fields.as_slice(),
            Shape::Enum(span) => {
                errors.push(syn::Error::new(
                    *span,
                    "ShmMessage cannot be derived for enums: a byte from another process may hold no valid discriminant; use an integer field with named constants instead",
                ));
                &[][..]
            }
            Shape::Union(span) => {
                errors.push(syn::Error::new(
                    *span,
                    "ShmMessage cannot be derived for unions: their bytes have no single type to check; use a struct",
                ));
                &[][..]
            }
        };

        let generics = &self.original.generics;
        if !generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &generics.params,
                "ShmMessage cannot be derived for generic types: a message needs one fixed layout and name, known where it is defined; use a concrete struct (type aliases of it are fine)",
            ));
        } else if let Some(w) = &generics.where_clause {
            errors.push(syn::Error::new_spanned(
                w,
                "ShmMessage cannot be derived for a type with a where clause",
            ));
        }

        if matches!(self.shape, Shape::Struct(_)) {
            check_repr(self, &mut errors);
        }

        let name = match &self.name {
            Some(lit) => {
                let v = lit.value();
                if v.is_empty() {
                    errors.push(syn::Error::new_spanned(
                        lit,
                        "the schema name must not be empty",
                    ));
                } else if v.len() > MAX_NAME {
                    errors.push(syn::Error::new_spanned(
                        lit,
                        format!(
                            "the schema name is {} bytes; at most {MAX_NAME} are allowed",
                            v.len()
                        ),
                    ));
                } else if v.chars().any(unprintable) {
                    errors.push(syn::Error::new_spanned(
                        lit,
                        "the schema name must not contain control characters or text direction \
                         overrides (tools print it on terminals)",
                    ));
                }
                lit.clone()
            }
            None => LitStr::new(&ident.to_string(), ident.span()),
        };

        let krate = self
            .krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::shm));

        match errors.is_empty() {
            true => Ok(Valid {
                input: self,
                fields,
                name,
                krate,
            }),
            false => Err(errors),
        }
    }
}

fn check_repr(input: &Input<'_>, errors: &mut Errors) {
    let repr = &input.repr;
    let ident = input.ident;
    for (span, other) in &repr.other {
        errors.push(syn::Error::new(
            *span,
            format!(
                "`#[repr({other})]` does not give `{ident}` a layout shared by every process; use `#[repr(C)]`"
            ),
        ));
    }
    if repr.c.is_none() && repr.transparent.is_none() {
        if let Some((span, _)) = &repr.packed {
            errors.push(syn::Error::new(
                *span,
                "`repr(packed)` alone leaves the field order to the compiler; write `#[repr(C, packed)]`",
            ));
        } else if let Some((span, _)) = &repr.align {
            errors.push(syn::Error::new(
                *span,
                "`repr(align(..))` alone leaves the field order to the compiler; write `#[repr(C, align(..))]`",
            ));
        } else if repr.other.is_empty() {
            errors.push(syn::Error::new(
                repr.attr_span.unwrap_or_else(|| ident.span()),
                format!(
                    "`#[derive(ShmMessage)]` requires `#[repr(C)]` (or `#[repr(transparent)]`) on `{ident}`, so every process lays it out the same way"
                ),
            ));
        }
    }
    if let (Some(span), Some(_)) = (repr.transparent, repr.c) {
        errors.push(syn::Error::new(
            span,
            "`transparent` cannot be combined with `C`",
        ));
    }
}

/// What `shm::text::is_unprintable` refuses in a name read from a topic file: control
/// characters and Unicode direction overrides and isolates.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}
