//! `#[derive(ShmMessage)]` for the `shm` crate (re-exported there as `shm::ShmMessage`).
//!
//! The derive runs in three steps, each in its own module: `ast` reads the struct and its
//! attributes, `valid` checks everything that can be checked from the syntax (reporting every
//! problem at once, each pointing at the offending token), and `expand` generates the
//! implementation, whose generated assertions let the compiler check what needs types: that every
//! field is itself a message, and (`padding`) that there is no padding, each gap reported at
//! the field it follows.
//! On error, `fallback` emits the errors plus a stub so that uses of the type do not pile up
//! secondary errors.

mod ast;
mod attr;
mod errors;
mod expand;
mod fallback;
mod padding;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `shm::ShmMessage`. See the `shm` crate documentation.
#[proc_macro_derive(ShmMessage, attributes(shm))]
pub fn derive_shm_message(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive(&input).into()
}

fn derive(input: &DeriveInput) -> proc_macro2::TokenStream {
    let parsed = match ast::Input::from_syn(input) {
        Ok(parsed) => parsed,
        Err(errors) => return fallback::expand(input, errors, None),
    };
    match parsed.validate() {
        Ok(valid) => expand::expand(&valid),
        Err(errors) => fallback::expand(input, errors, parsed.krate.as_ref()),
    }
}
