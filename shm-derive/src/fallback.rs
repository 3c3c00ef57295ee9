//! Output when the input is refused: the errors, plus a stub implementation so that code
//! using the type reports nothing further (the stub never compiles into a program, because the
//! errors stop the build).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Path};

use crate::errors::Errors;

pub(crate) fn expand(input: &DeriveInput, errors: Errors, krate: Option<&Path>) -> TokenStream {
    let krate = match krate {
        Some(p) => quote!(#p),
        None => quote!(::shm),
    };
    let errors = errors
        .combined()
        .map(|e| e.into_compile_error())
        .unwrap_or_default();
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let bound = match where_clause {
        Some(w) => quote!(#w, Self: 'static),
        None => quote!(where Self: 'static),
    };
    quote! {
        #errors
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            // SAFETY: never part of a built program: this stub exists only next to the
            // compile errors above.
            unsafe impl #impl_generics #krate::ShmMessage for #ident #ty_generics #bound {
                const SCHEMA: &'static #krate::Schema = <u8 as #krate::ShmMessage>::SCHEMA;
            }
        };
    }
}
