//! The input, read into the shape the derive works with.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Ident, LitStr, Member, Path, Type};

use crate::attr::{self, Repr};
use crate::errors::Errors;

/// A field of the message.
pub(crate) struct FieldInput<'a> {
    /// `x` or `0`.
    pub(crate) member: Member,
    /// The name recorded in the schema (`"x"`, or `"0"` for tuple fields).
    pub(crate) name: String,
    pub(crate) ty: &'a Type,
}

/// What kind of item the derive was put on.
pub(crate) enum Shape<'a> {
    Struct(Vec<FieldInput<'a>>),
    Enum(Span),
    Union(Span),
}

/// The parsed input.
pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) ident: &'a Ident,
    pub(crate) shape: Shape<'a>,
    pub(crate) repr: Repr,
    pub(crate) name: Option<LitStr>,
    pub(crate) krate: Option<Path>,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(input: &'a DeriveInput) -> Result<Input<'a>, Errors> {
        let mut errors = Errors::default();
        let shm = attr::parse_shm(&input.attrs, &mut errors);
        let repr = attr::parse_repr(&input.attrs, &mut errors);
        let shape = match &input.data {
            Data::Struct(s) => {
                let fields = s
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        attr::reject_shm(&f.attrs, &mut errors);
                        let member = match &f.ident {
                            Some(id) => Member::Named(id.clone()),
                            None => Member::Unnamed(syn::Index {
                                index: i as u32,
                                span: f.ty.span(),
                            }),
                        };
                        let name = match &f.ident {
                            Some(id) => id.unraw().to_string(),
                            None => i.to_string(),
                        };
                        FieldInput {
                            member,
                            name,
                            ty: &f.ty,
                        }
                    })
                    .collect();
                Shape::Struct(fields)
            }
            Data::Enum(e) => Shape::Enum(e.enum_token.span),
            Data::Union(u) => Shape::Union(u.union_token.span),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Input {
            original: input,
            ident: &input.ident,
            shape,
            repr,
            name: shm.name,
            krate: shm.krate,
        })
    }
}
