//! Code generation for a validated message struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

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

    // The layout twin: a struct with the same name, representation and, per field, plain
    // bytes of the same size and alignment. zerocopy's `IntoBytes` derive on it proves the
    // message has no padding (and reports how many bytes if it has).
    let twin_fields = v.fields.iter().map(|f| {
        let ty = f.ty;
        let unit = quote_spanned! {ty.span()=>
            [<#krate::__private::Align<{ ::core::mem::align_of::<#ty>() }> as #krate::__private::AlignUnit>::Unit;
             ::core::mem::size_of::<#ty>() / ::core::mem::align_of::<#ty>()]
        };
        match &f.member {
            syn::Member::Named(id) => quote!(#id: #unit),
            syn::Member::Unnamed(_) => unit,
        }
    });
    let twin_body = if v.unit {
        quote!(;)
    } else if v.tuple {
        quote!(( #(#twin_fields),* );)
    } else {
        quote!({ #(#twin_fields),* })
    };
    let twin_repr = &v.input.repr.attrs;
    let into_bytes = quote_spanned!(ident.span()=> #krate::__private::zerocopy::IntoBytes);
    let zerocopy_path = quote!(#krate::__private::zerocopy).to_string();

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_camel_case_types, dead_code, unused_qualifications)]
        const _: () = {
            #[automatically_derived]
            // SAFETY: `#[repr(C)]`/`#[repr(transparent)]` was checked by the derive; the schema
            // below is generated from the definition itself (size, alignment, and every field's
            // name, offset and type); every field type implements ShmMessage; the layout twin
            // below proves the absence of padding. So the bytes of a value are all initialised,
            // and bytes that pass the schema's validation are a valid value.
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

            // The layout twin lives inside this constant's block, where it takes the message's
            // name; outside the block the name is the message again. The twin stands for the
            // message only if the compiler laid both out alike.
            const __SHM_TWIN_LAYOUT: (usize, usize) = {
                #[derive(#into_bytes)]
                #[zerocopy(crate = #zerocopy_path)]
                #(#twin_repr)*
                struct #ident #twin_body

                (::core::mem::size_of::<#ident>(), ::core::mem::align_of::<#ident>())
            };
            const _: () = ::core::assert!(
                __SHM_TWIN_LAYOUT.0 == ::core::mem::size_of::<#ident>()
                    && __SHM_TWIN_LAYOUT.1 == ::core::mem::align_of::<#ident>(),
                "derive(ShmMessage): the padding check's layout differs from the message's; please report this",
            );
        };
    }
}
