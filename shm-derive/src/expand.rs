//! Code generation for a validated message struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::padding;
use crate::valid::Valid;

pub(crate) fn expand(v: &Valid<'_>) -> TokenStream {
    let ident = v.input.ident;
    let krate = &v.krate;
    let name = &v.name;

    // Schema entries. Each names `<FieldType as ShmMessage>` at the field's type, so a field
    // that is not a message is reported there, once, with ShmMessage's explanation.
    let schema_fields = v.fields.iter().map(|f| {
        let ty = f.ty;
        let member = &f.member;
        let fname = &f.name;
        quote_spanned! {ty.span()=>
            #krate::__private::Field::__new(
                #fname,
                ::core::mem::offset_of!(Self, #member),
                <#ty as #krate::ShmMessage>::SCHEMA,
            )
        }
    });
    let padding_checks = padding::checks(v);

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_camel_case_types, dead_code, unused_qualifications)]
        const _: () = {
            #[automatically_derived]
            // SAFETY: `#[repr(C)]`/`#[repr(transparent)]` was checked by the derive; the schema
            // below is generated from the definition itself (size, alignment, and every field's
            // name, offset and type); every field type implements ShmMessage; the padding checks
            // below prove that no byte lies outside a field. So the bytes of a value are all
            // initialised, and bytes that pass the schema's validation are a valid value.
            unsafe impl #krate::ShmMessage for #ident {
                const SCHEMA: &'static #krate::__private::Schema =
                    &#krate::__private::Schema::__structure(
                        #name,
                        ::core::mem::size_of::<Self>(),
                        ::core::mem::align_of::<Self>(),
                        &[#(#schema_fields),*],
                    );
            }

            #[#krate::__private::linkme::distributed_slice(#krate::__private::REGISTRY)]
            #[linkme(crate = #krate::__private::linkme)]
            static __SHM_REGISTRATION: &'static #krate::__private::Schema =
                <#ident as #krate::ShmMessage>::SCHEMA;

            #padding_checks
        };
    }
}
