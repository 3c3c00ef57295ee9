//! The padding checks of a message: one compile-time check per gap, each reported at the field
//! it follows (or at the struct, for padding at its end), naming the struct, the number of
//! bytes and the field, with the advice to add an explicit `_reserved: [u8; N]` field there.
//!
//! Each check is `<() as NoPaddingAfter<Struct, field, N>>::OK` with `N` the gap computed from
//! `offset_of!` and `size_of`: only `N == 0` is implemented, and the trait's
//! `#[diagnostic::on_unimplemented]` (see `shm/src/private.rs`) turns any other `N` into our
//! message. `field` is a marker type named like the field, declared in a module of its own so it
//! can never shadow a type the fields use.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Member;
use syn::spanned::Spanned;

use crate::valid::Valid;

/// The marker type naming a field in messages: the field's identifier, or `_0`, `_1`, ...
fn marker(member: &Member) -> Ident {
    match member {
        Member::Named(id) => id.clone(),
        Member::Unnamed(index) => format_ident!("_{}", index.index, span = index.span),
    }
}

/// The checks, inside the derive's `const _: () = { ... };` block.
pub(crate) fn checks(v: &Valid<'_>) -> TokenStream {
    let ident = v.input.ident;
    let krate = &v.krate;
    let private = quote!(#krate::__private);
    let fields = v.fields;
    let size_of = |ty: &syn::Type| quote!(::core::mem::size_of::<#ty>());
    let offset_of = |m: &Member| quote!(::core::mem::offset_of!(#ident, #m));

    // `repr(transparent)` has no padding of its own (it is laid out as its one non-zero-sized
    // field, which is a message); its fields may not be in layout order, so only the total is
    // checked.
    if v.input.repr.transparent.is_some() {
        let sizes = fields.iter().map(|f| size_of(f.ty));
        return quote_spanned! {ident.span()=>
            let _: () = <() as #private::NoPadding<
                #ident,
                { ::core::mem::size_of::<#ident>() - (0 #(+ #sizes)*) },
            >>::OK;
        };
    }

    let markers: Vec<Ident> = fields.iter().map(|f| marker(&f.member)).collect();
    let mut checks = Vec::new();
    for (i, pair) in fields.windows(2).enumerate() {
        let (this, next) = (&pair[0], &pair[1]);
        let (offset, size) = (offset_of(&this.member), size_of(this.ty));
        let end = quote!(#offset + #size);
        let next_start = offset_of(&next.member);
        let field = &markers[i];
        checks.push(quote_spanned! {this.member.span()=>
            let _: () = <() as #private::NoPaddingAfter<
                #ident,
                __shm_fields::#field,
                { (#next_start).saturating_sub(#end) },
            >>::OK;
        });
    }
    let end = match fields.last() {
        Some(last) => {
            let (offset, size) = (offset_of(&last.member), size_of(last.ty));
            quote!(#offset + #size)
        }
        None => quote!(0),
    };
    checks.push(quote_spanned! {ident.span()=>
        let _: () = <() as #private::NoTrailingPadding<
            #ident,
            { ::core::mem::size_of::<#ident>().saturating_sub(#end) },
        >>::OK;
    });
    let allow = quote!(#[allow(non_camel_case_types, dead_code)]);
    quote! {
        mod __shm_fields {
            #( #allow pub struct #markers; )*
        }
        #(#checks)*
    }
}
